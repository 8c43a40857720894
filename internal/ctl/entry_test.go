package ctl_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corebanking/ledger/internal/ctl"
)

// TestEntries posts a fee entry, reverses it, and submits batches, over
// mutual TLS as the channel role, as a channel service's operator would
// with ledgerctl; and shows that the channel role can create no money.
func TestEntries(t *testing.T) {
	srv := MustStartServer(t)
	mustRun(t, srv, "account", "open", "--customer", "C-1", "--currency", "KRW", "--id", "A-1")
	mustRun(t, srv, "account", "open", "--customer", "C-2", "--currency", "KRW", "--id", "B-1")
	mustRun(t, srv, "--role", "operator", "account", "open", "--customer", "bank", "--currency", "KRW", "--id",
		"fees", "--kind", "internal")
	mustRun(t, srv, "deposit", "A-1", "100000", "KRW")

	var entryID string
	t.Run("Post", func(t *testing.T) {
		out := mustRun(t, srv, "entry", "post", "--currency", "KRW", "--memo", "with fee", "A-1:-10500", "B-1:10000", "fees:500")
		mustContain(t, out, `^entry posted: entry ([0-9a-f-]{36})`, `A-1\s+-10500 KRW`, `B-1\s+\+10000 KRW`, `fees\s+\+500 KRW`)
		entryID = strings.Fields(out)[3]
		mustBalance(t, srv, "A-1", "89500", "0", "89500")
		r := ledgerctl(t, srv, "entry", "post", "A-1:-100:KRW", "B-1:99:KRW")
		if r.code != ctl.ExitFailure {
			t.Fatalf("unbalanced entry: exit %d", r.code)
		}
		mustContain(t, r.stderr, `\(INVALID_ARGUMENT\)`, `postings: must sum to zero in each currency: KRW sums to -1`)
	})
	t.Run("Reverse", func(t *testing.T) {
		// The channel posted it, but its reversal debits the bank's fee
		// account: only an operator may.
		r := ledgerctl(t, srv, "entry", "reverse", entryID)
		mustContain(t, r.stderr, `\(DEBIT_NOT_PERMITTED\)`)
		out := mustRun(t, srv, "--role", "operator", "entry", "reverse", entryID, "--memo", "refund")
		mustContain(t, out, `^reversal posted: entry`, `A-1\s+\+10500 KRW`, `reverses `+entryID)
		mustBalance(t, srv, "A-1", "100000", "0", "100000")
		r = ledgerctl(t, srv, "--role", "operator", "entry", "reverse", entryID)
		mustContain(t, r.stderr, `\(ENTRY_ALREADY_REVERSED\)`)
	})
	t.Run("Batch", func(t *testing.T) {
		file := writeBatch(t, "pay")
		r := ledgerctl(t, srv, "batch", file)
		if r.code != ctl.ExitFailure {
			t.Fatalf("exit %d, want %d: %s", r.code, ctl.ExitFailure, r.stderr)
		}
		mustContain(t, r.stdout, `item 0: posted entry`, `item 50: refused: Your available balance is not enough for this payment\. \(INSUFFICIENT_FUNDS\)`,
			`50 posted, 1 refused`)
		mustBalance(t, srv, "A-1", "95000", "0", "95000")
		r = ledgerctl(t, srv, "batch", "--atomic", writeBatch(t, "atomic"))
		mustContain(t, r.stdout, `item 0: refused: .*\(BATCH_ITEM_NOT_APPLIED\)`, `item 50: refused: .*\(INSUFFICIENT_FUNDS\)`, `0 posted, 51 refused`)
		mustBalance(t, srv, "A-1", "95000", "0", "95000")
	})
	t.Run("ChannelsCannotCreateMoney", func(t *testing.T) {
		for _, args := range [][]string{
			{"--role", "channel", "account", "open", "--customer", "C-1", "--currency", "KRW", "--id", "mine", "--kind", "internal"},
			{"transfer", "sys:vault:KRW", "A-1", "7000000", "KRW"},
			{"transfer", "fees", "A-1", "5000000", "KRW"},
			{"--role", "channel", "withdraw", "sys:vault:KRW", "7000000", "KRW", "--atm", "atm-1"},
			{"--role", "channel", "withdraw", "fees", "7000000", "KRW", "--atm", "atm-1"},
			{"entry", "post", "--currency", "KRW", "sys:vault:KRW:-7000000", "A-1:7000000"},
			{"entry", "post", "--currency", "KRW", "fees:-7000000", "A-1:7000000"},
			{"hold", "place", "fees", "1000", "KRW"},
		} {
			r := ledgerctl(t, srv, args...)
			if r.code != ctl.ExitFailure || !strings.Contains(r.stderr, "_NOT_PERMITTED)") {
				t.Errorf("%v: exit %d\n%s", args, r.code, r.stderr)
			}
		}
		mustBalance(t, srv, "A-1", "95000", "0", "95000")
		r := ledgerctl(t, srv, "account", "show", "mine")
		mustContain(t, r.stderr, `\(ACCOUNT_NOT_FOUND\)`)
	})
}

// writeBatch writes a batch file of 50 transfers of 100 from A-1 to B-1 and
// one overdraft, with request ids that start with prefix.
func writeBatch(t *testing.T, prefix string) string {
	t.Helper()
	var lines []string
	for i := range 50 {
		lines = append(lines, fmt.Sprintf(`{"transfer": {"requestId": "%s-%d", "fromAccountId": "A-1", "toAccountId": "B-1", "amount": "100", "currency": "KRW"}}`, prefix, i))
	}
	lines = append(lines, `{"transfer": {"requestId": "`+prefix+`-over", "fromAccountId": "B-1", "toAccountId": "A-1", "amount": "999999", "currency": "KRW"}}`)
	file := filepath.Join(t.TempDir(), prefix+".jsonl")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}
