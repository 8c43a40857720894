package ledgerd_test

import (
	"bufio"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgtest"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// TestSealerMetrics checks that /metrics tells an operator the journal
// keeps up: the sealer leads, counts what it seals, and the backlog drains
// to nothing.
func TestSealerMetrics(t *testing.T) {
	ctx := t.Context()
	m, err := ledgerd.Run(ctx, ledgerd.Config{
		DatabaseURL: pgtest.NewDatabase(t), Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", Plaintext: true,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		Sealer: ledgerd.SealerConfig{Interval: 5 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	c := dial(t, m.Server.Addr())
	if _, err := c.acct.OpenAccount(ctx, &ledgerv1.OpenAccountRequest{RequestId: "open-m", AccountId: "m",
		CustomerId: "c-m", Currency: "KRW", Kind: ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER}); err != nil {
		t.Fatal(err)
	}
	const deposits = 5
	for i := range deposits {
		if _, err := c.pay.Deposit(ctx, &ledgerv1.DepositRequest{RequestId: "dep-m-" + strconv.Itoa(i), AccountId: "m",
			Amount: 100, Currency: "KRW"}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]float64{ // the openings (alice's, the vault's) and the deposits, all sealed by this process
		"ledger_journal_sealed_records_total":   2 + deposits,
		"ledger_journal_sealed_sequence":        2 + deposits,
		"ledger_journal_witness_failures_total": 0,
		"ledger_journal_sealer_leader":          1,
		"ledger_journal_backlog_entries":        0,
		"ledger_journal_backlog_age_seconds":    0,
		"ledger_journal_seal_failures_total":    0,
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := scrapeMetrics(t, "http://"+m.Server.AdminAddr()+"/metrics")
		same := true
		for name, v := range want {
			if g, ok := got[name]; !ok || g != v {
				same = false
			}
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			for name, v := range want {
				t.Errorf("%s = %v (present: %v), want %v", name, got[name], hasKey(got, name), v)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scrapeMetrics reads the samples of a Prometheus text page, each under
// its name and labels as the page writes them.
func scrapeMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[name] = v
		}
	}
	return out
}

func hasKey(m map[string]float64, k string) bool { _, ok := m[k]; return ok }
