package storm_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/internal/storm"
)

// TestOutside runs a short storm against a ledgerd started from its own
// binary, with the control flood in the baseline, and checks what does
// not depend on timing: the control flood went to the health service in
// the baseline only and was answered, the CPU was split between ledgerd,
// PostgreSQL and the load tool, and the ratio is judged against the
// control flood. It asserts no latency.
func TestOutside(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ledgerd and runs a short storm")
	}
	bin := filepath.Join(t.TempDir(), "ledgerd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/corebanking/ledger/cmd/ledgerd").CombinedOutput(); err != nil {
		t.Fatalf("go build ledgerd: %v\n%s", err, out)
	}
	cfg := storm.OutsideDefaults()
	cfg.Ledgerd, cfg.Modes = bin, []bool{true}
	cfg.Baseline, cfg.Storm, cfg.Recovery, cfg.Slices = 4*time.Second, 4*time.Second, time.Second, 2
	cfg.Accounts, cfg.PromoConns = 40, 4
	cfg.Rates = storm.Rates{Transfer: 20, Withdraw: 10, Hold: 5, Balance: 10, Flood: 100, Trickle: 4}
	cfg.NewDatabase = func(context.Context, string) (string, error) { return pgtest.NewDatabase(t), nil }
	cfg.Logf = t.Logf
	rep, err := storm.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	run := rep.Runs[0]
	if !run.Outside || !run.Control || !rep.Settings.Outside {
		t.Fatalf("run outside %v, control %v", run.Outside, run.Control)
	}
	var phases []storm.Phase
	for _, s := range run.PhaseSpans {
		phases = append(phases, s.Phase)
	}
	if want := []storm.Phase{storm.Baseline, storm.Storm, storm.Baseline, storm.Storm, storm.Recovery}; !slices.Equal(phases, want) {
		t.Errorf("phases %v, want %v", phases, want)
	}
	var control *storm.ClassReport
	for i := range run.Classes {
		if run.Classes[i].Class == storm.Control {
			control = &run.Classes[i]
		}
	}
	if control == nil {
		t.Fatal("no control class in the report")
	}
	for _, p := range control.Phases {
		switch {
		case p.Phase == storm.Baseline && (p.Requests == 0 || p.OK != p.Requests):
			t.Errorf("control flood in the baseline: %d ok of %d, errors %v", p.OK, p.Requests, p.Errors)
		case p.Phase != storm.Baseline && p.Requests != 0:
			t.Errorf("control flood in the %s: %d requests, want none", p.Phase, p.Requests)
		}
	}
	var ledgerd, load float64
	for _, s := range run.CPU {
		ledgerd, load = ledgerd+s.Ledgerd, load+s.Load
	}
	if ledgerd == 0 || load == 0 {
		t.Errorf("CPU split: ledgerd %.2f, load tool %.2f core-seconds; want both measured", ledgerd, load)
	}
	var table bytes.Buffer
	rep.WriteTable(&table)
	for _, want := range []string{"over the control flood", "routine p99 promo flood <= 1.2x control flood", "ledgerd / PostgreSQL / load tool"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}
