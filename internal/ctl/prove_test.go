package ctl_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/corebanking/ledger/internal/ctl"
	"github.com/corebanking/ledger/internal/journalkey"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// TestJournalProve proves a customer's transfer is in the journal a signed
// checkpoint commits to, checks the proof here and, saved, with no server;
// a proof of another record, or against another key, does not hold.
func TestJournalProve(t *testing.T) {
	w := startWitnessed(t)
	w.history(t)
	out := mustRun(t, w.addr, "transfer", "A-1", "B-1", "700", "KRW", "--memo", "disputed")
	entry := regexp.MustCompile(`entry (\S+)`).FindStringSubmatch(out)[1]
	n := w.waitWitnessed(t)
	proof := filepath.Join(t.TempDir(), "proof.json")

	out = mustRun(t, w.addr, "journal", "prove", entry, "--save", proof)
	mustContain(t, out, `^entry `+entry+` is record \d+ of the journal: transfer by channel/dev`,
		`A-1\s+-700 KRW\n`, `it is in the journal of \d+ records that key ledger.local/journal \([0-9a-f]{8}\) signed at `,
		`inclusion proof: \d+ hashes, checked here against the signed root\n`)
	// The saved proof holds with no server at all.
	offline := func(args ...string) result {
		return ledgerctl(t, "127.0.0.1:1", append([]string{"--tls-dir", w.tls, "journal", "check-proof"}, args...)...)
	}
	if r := offline(proof); r.code != ctl.ExitOK || !strings.Contains(r.stdout, "is record") {
		t.Fatalf("check-proof: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	t.Run("ErrChangedRecord", func(t *testing.T) {
		b, err := os.ReadFile(proof)
		if err != nil {
			t.Fatal(err)
		}
		var resp ledgerv1.GetInclusionProofResponse
		if err := protojson.Unmarshal(b, &resp); err != nil {
			t.Fatal(err)
		}
		resp.GetRecord().GetEntry().GetPostings()[0].Amount *= 10
		resp.GetRecord().GetEntry().GetPostings()[1].Amount *= 10
		changed := filepath.Join(t.TempDir(), "changed.json")
		b, _ = protojson.Marshal(&resp)
		if err := os.WriteFile(changed, b, 0o644); err != nil {
			t.Fatal(err)
		}
		r := offline(changed)
		if r.code != ctl.ExitFailure || !strings.Contains(r.stderr, "the proof does not hold: record") {
			t.Errorf("a proof of a changed record: exit %d\n%s", r.code, r.stderr)
		}
	})
	t.Run("ErrOtherKey", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other.key")
		if _, err := journalkey.Generate(other, "ledger.local/journal"); err != nil {
			t.Fatal(err)
		}
		r := offline(proof, "--key", other+journalkey.PubSuffix)
		if r.code != ctl.ExitFailure || !strings.Contains(r.stderr, "not signed by key ledger.local/journal") {
			t.Errorf("against another key: exit %d\n%s", r.code, r.stderr)
		}
	})
	t.Run("ErrNotCheckpointed", func(t *testing.T) {
		// A tree size with no checkpoint signed at it proves nothing a
		// customer can hold the ledger to.
		r := ledgerctl(t, w.addr, "journal", "prove", entry, "--tree-size", "99")
		if r.code != ctl.ExitFailure || !strings.Contains(r.stderr, "TREE_SIZE_OUT_OF_RANGE") {
			t.Errorf("--tree-size 99 of %d: exit %d\n%s", n, r.code, r.stderr)
		}
	})
	t.Run("ErrUnknownEntry", func(t *testing.T) {
		r := ledgerctl(t, w.addr, "journal", "prove", "00000000-0000-4000-8000-000000000000")
		if r.code != ctl.ExitFailure || !strings.Contains(r.stderr, "JOURNAL_RECORD_NOT_FOUND") {
			t.Errorf("an unknown entry: exit %d\n%s", r.code, r.stderr)
		}
	})
}

// TestAccountStatus freezes an account as an operator: deposits are then
// refused, and the journal shows who froze it and why.
func TestAccountStatus(t *testing.T) {
	addr := MustStartServer(t)
	mustRun(t, addr, "account", "open", "--customer", "C-1", "--currency", "KRW", "--id", "A-1")
	out := mustRun(t, addr, "account", "status", "A-1", "frozen", "--reason", "court order 7")
	mustContain(t, out, `^account A-1 is frozen \(request \S+\)\n`)
	if r := ledgerctl(t, addr, "deposit", "A-1", "100", "KRW"); r.code != ctl.ExitFailure || !strings.Contains(r.stderr, "ACCOUNT_FROZEN") {
		t.Errorf("deposit to a frozen account: exit %d\n%s", r.code, r.stderr)
	}
	if r := ledgerctl(t, addr, "--role", "teller", "account", "status", "A-1", "active", "--reason", "x"); r.code != ctl.ExitFailure ||
		!strings.Contains(r.stderr, "PERMISSION_DENIED") {
		t.Errorf("a teller setting a status: exit %d\n%s", r.code, r.stderr)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out, "account status change  by operator/dev") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		out = mustRun(t, addr, "journal", "tail")
	}
	mustContain(t, out, `account status change  by operator/dev  entry \S+  hash [0-9a-f]{16}\n  account A-1 FROZEN, was ACTIVE: court order 7\n`)
}
