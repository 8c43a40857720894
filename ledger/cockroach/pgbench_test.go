package cockroach_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/corebanking/ledger/internal/bench"
	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// TestPgbenchTransfer runs the benchmark's SQL-only transfer script with
// pgbench and checks that it writes what the ledger's transfers write:
// balanced entries with their postings, balance rows that match them, and
// journal announcements the sealer seals into a journal that verifies.
func TestPgbenchTransfer(t *testing.T) {
	if os.Getenv("COCKROACH_BINARY") != "" {
		t.Skip("the script is for PostgreSQL's pgbench")
	}
	bin, err := bench.FindPgbench()
	if err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	const accounts = 6
	for i := 1; i <= accounts; i++ { // internal accounts may go below zero: every transfer is allowed
		if _, err := f.OpenAccount(ctx, ledger.OpenAccountRequest{RequestID: f.rid(), AccountID: fmt.Sprintf("pb-%d", i),
			CustomerID: "bank", Currency: "KRW", Kind: ledger.KindInternal}); err != nil {
			t.Fatal(err)
		}
	}
	script := filepath.Join(t.TempDir(), "transfer.sql")
	if err := os.WriteFile(script, []byte(cockroach.PgbenchTransfer("pb-", accounts, "KRW")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, bin, "-n", "-M", "prepared", "-c", "2", "-j", "1", "-t", "20", "-f", script, f.url).CombinedOutput()
	if err != nil {
		t.Fatalf("pgbench: %v\n%s", err, out)
	}
	res, err := bench.ParsePgbench(string(out))
	if err != nil {
		t.Fatal(err)
	}
	transfers := f.mustCount(t, `SELECT count(*) FROM entries WHERE kind = 'TRANSFER'`)
	if transfers == 0 || int64(transfers) != res.Processed {
		t.Fatalf("%d transfer entries, pgbench processed %d transactions\n%s", transfers, res.Processed, out)
	}
	if n := f.mustCount(t, `SELECT count(*) FROM postings`); n != 2*transfers {
		t.Errorf("%d postings for %d transfers", n, transfers)
	}
	f.AssertBooksBalance(t)
	f.MustSealAll(t, f.MustSealer(t, cockroach.SealerOptions{}))
	if v := f.MustVerify(t, ledger.JournalRange{}); !v.OK || v.Checked != int64(accounts+transfers) {
		t.Errorf("verification = %+v, want OK over %d records", v, accounts+transfers)
	}
}
