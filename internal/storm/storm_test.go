package storm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/internal/storm"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestSmoke runs a short storm, bulkheads on then off, against real
// in-process servers on real databases, and checks the report's structure
// and the guarantees that do not depend on timing: every class was driven
// in every phase, the promo was never oversold, and no caller was ever
// answered INTERNAL or UNKNOWN. It asserts no latency.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two short storms")
	}
	cfg := storm.Config{
		Modes:    []bool{true, false},
		Baseline: time.Second, Storm: 2 * time.Second, Recovery: 2 * time.Second,
		Deadline: 2 * time.Second,
		Accounts: 40,
		Rates:    storm.Rates{Transfer: 20, Withdraw: 10, Hold: 5, Balance: 10, Flood: 150, Trickle: 4},
		// Less than the flood asks for, so that it sells out.
		PromoQuota:   30,
		PromoDBDelay: 50 * time.Millisecond,
		NewDatabase: func(ctx context.Context, name string) (string, error) {
			return pgtest.NewDatabase(t), nil
		},
		Logf: t.Logf,
	}
	rep, err := storm.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := rep.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}

	if len(rep.Runs) != 2 || !rep.Runs[0].Bulkheads || rep.Runs[1].Bulkheads {
		t.Fatalf("runs: want bulkheads on then off, got %d runs", len(rep.Runs))
	}
	for _, run := range rep.Runs {
		checkRun(t, run, cfg)
	}
	checkJSON(t, filepath.Join(dir, "storm.json"))
	checkHTML(t, filepath.Join(dir, "storm.html"))
	checkSVG(t, filepath.Join(dir, "storm.svg"))

	var table bytes.Buffer
	rep.WriteTable(&table)
	for _, want := range []string{"bulkheads on", "bulkheads off", "routine p99 storm / baseline", "targets, bulkheads on"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

func checkRun(t *testing.T, run *storm.RunReport, cfg storm.Config) {
	t.Helper()
	if len(run.PhaseSpans) != 3 || run.PhaseSpans[2].ToS != (cfg.Baseline+cfg.Storm+cfg.Recovery).Seconds() {
		t.Errorf("%s: phases %+v", run.Label, run.PhaseSpans)
	}
	if run.Compartment == "" {
		t.Errorf("%s: the compartment serving Subscribe was never seen", run.Label)
	}
	if run.PromoSold < 0 || run.PromoSold > int64(cfg.PromoQuota) {
		t.Errorf("%s: promo sold %d of a quota of %d", run.Label, run.PromoSold, cfg.PromoQuota)
	}
	if len(run.Classes) != len(storm.Classes) {
		t.Fatalf("%s: %d classes, want %d", run.Label, len(run.Classes), len(storm.Classes))
	}
	seconds := int((cfg.Baseline + cfg.Storm + cfg.Recovery) / time.Second)
	for _, cr := range run.Classes {
		if len(cr.Phases) != 3 || len(cr.Seconds) != seconds {
			t.Errorf("%s %s: %d phases, %d seconds; want 3 and %d", run.Label, cr.Class, len(cr.Phases), len(cr.Seconds), seconds)
		}
		var perSecond int64
		for _, s := range cr.Seconds {
			perSecond += s.Requests
		}
		var perPhase int64
		for _, p := range cr.Phases {
			perPhase += p.Requests
			if p.Requests == 0 {
				t.Errorf("%s %s %s: no requests were sent", run.Label, cr.Class, p.Phase)
			}
			if p.OK > p.Requests || p.SuccessRate < 0 || p.SuccessRate > 1 {
				t.Errorf("%s %s %s: %d ok of %d, rate %v", run.Label, cr.Class, p.Phase, p.OK, p.Requests, p.SuccessRate)
			}
			for key, n := range p.Errors {
				if strings.HasPrefix(key, "INTERNAL") || strings.HasPrefix(key, "UNKNOWN") {
					t.Errorf("%s %s %s: %d answered %s", run.Label, cr.Class, p.Phase, n, key)
				}
			}
		}
		if perSecond != perPhase {
			t.Errorf("%s %s: %d requests by second, %d by phase", run.Label, cr.Class, perSecond, perPhase)
		}
	}
	if len(run.Targets) == 0 {
		t.Errorf("%s: no targets judged", run.Label)
	}
}

func checkJSON(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Settings map[string]any `json:"settings"`
		Runs     []struct {
			Label   string           `json:"label"`
			Classes []map[string]any `json:"classes"`
			Breaker []map[string]any `json:"breaker_transitions"`
			Ratio   *float64         `json:"routine_p99_storm_over_baseline"`
			Targets []map[string]any `json:"targets"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("storm.json: %v", err)
	}
	if len(doc.Runs) != 2 || doc.Settings["rates_per_s"] == nil {
		t.Fatalf("storm.json: %d runs, settings %v", len(doc.Runs), doc.Settings)
	}
	for _, r := range doc.Runs {
		if r.Label == "" || len(r.Classes) != 3 || r.Ratio == nil || len(r.Targets) == 0 {
			t.Errorf("storm.json run %q: %d classes, ratio %v, %d targets", r.Label, len(r.Classes), r.Ratio, len(r.Targets))
		}
	}
}

func checkHTML(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	// Two charts (latency, success) per run, each with a line per class.
	if n := strings.Count(page, "<svg"); n != 4 {
		t.Errorf("storm.html has %d charts, want 4", n)
	}
	if n := strings.Count(page, "<polyline"); n < 4*3 {
		t.Errorf("storm.html has %d lines, want at least 12", n)
	}
	for _, want := range []string{"<h2>bulkheads on</h2>", "<h2>bulkheads off</h2>", "routine", "teller", "promo"} {
		if !strings.Contains(page, want) {
			t.Errorf("storm.html lacks %q", want)
		}
	}
}

func checkSVG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The picture itself, and a latency chart per run inside it.
	if n := strings.Count(string(b), "<svg"); n != 3 || !strings.Contains(string(b), "bulkheads off: p99 latency") {
		t.Errorf("storm.svg has %d svg elements, want 3 (a picture of two charts)", n)
	}
}
