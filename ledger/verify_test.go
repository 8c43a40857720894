package ledger_test

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/corebanking/ledger/ledger"
)

func mustKey(t *testing.T, name string) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// journal returns n chained records of made-up entries.
func journal(n int) []ledger.Record {
	out := make([]ledger.Record, n)
	prev := ledger.GenesisHash()
	for i := range out {
		e := exampleEntries[i%2]
		e.RequestID = "r-" + strings.Repeat("x", i)
		seq := int64(i + 1)
		out[i] = ledger.Record{Sequence: seq, Entry: e, PrevHash: prev, Hash: ledger.ChainHash(prev, seq, e)}
		prev = out[i].Hash
	}
	return out
}

// checkpointOf signs the checkpoint of records.
func checkpointOf(t *testing.T, s note.Signer, records []ledger.Record) ledger.SignedCheckpoint {
	t.Helper()
	tree := ledger.NewTree()
	for _, r := range records {
		if err := tree.Append(ledger.LeafHash(r.Sequence, r.Entry), nil); err != nil {
			t.Fatal(err)
		}
	}
	c, err := ledger.SignCheckpoint(ledger.SignedCheckpoint{Size: int64(len(records)), Root: tree.Root(),
		ChainHead: records[len(records)-1].Hash, Time: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}, s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckpointSignature(t *testing.T) {
	s, v := mustKey(t, "bank.example/ledger")
	c := checkpointOf(t, s, journal(3))
	got, err := ledger.OpenCheckpoint(c.Note, v)
	if err != nil || got.Size != 3 || !bytes.Equal(got.Root, c.Root) || got.KeyID != v.KeyHash() || !got.Time.Equal(c.Time) {
		t.Fatalf("OpenCheckpoint = %+v, %v", got, err)
	}
	if !strings.HasPrefix(string(c.Note), "bank.example/ledger\n3\n") || !strings.Contains(string(c.Note), "\ntime 2026-03-02T09:00:00.000000Z\n\n— bank.example/ledger ") {
		t.Errorf("note:\n%s", c.Note)
	}
	_, other := mustKey(t, "bank.example/ledger")
	for name, msg := range map[string][]byte{
		"OtherKey":    nil,
		"ChangedSize": bytes.Replace(c.Note, []byte("\n3\n"), []byte("\n4\n"), 1),
		"NotANote":    []byte("bank.example/ledger\n3\n"),
	} {
		t.Run(name, func(t *testing.T) {
			key := v
			if msg == nil {
				msg, key = c.Note, other
			}
			if _, err := ledger.OpenCheckpoint(msg, key); err == nil {
				t.Error("accepted")
			}
		})
	}
	// A text that is not in the one form Text writes is refused even when
	// signed: a size with a leading zero.
	text := strings.Replace(string(c.Text()), "\n3\n", "\n03\n", 1)
	msg, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.OpenCheckpoint(msg, v); err == nil {
		t.Error("a size of 03 accepted")
	}
}

func TestJournalVerifier(t *testing.T) {
	s, _ := mustKey(t, "bank.example/ledger")
	records := journal(9)
	cps := []ledger.SignedCheckpoint{checkpointOf(t, s, records[:3]), checkpointOf(t, s, records[:6]), checkpointOf(t, s, records[:9])}
	run := func(records []ledger.Record, cps []ledger.SignedCheckpoint) *ledger.JournalError {
		jv, err := ledger.NewJournalVerifier(cps)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range records {
			if e := jv.Check(r); e != nil {
				return e
			}
		}
		return jv.End()
	}
	if e := run(records, cps); e != nil {
		t.Fatalf("the journal as signed: %v", e)
	}
	// Record 5 changed and every later hash recomputed: the chain holds,
	// the checkpoint of 6 does not, and the checkpoint of 3 still does.
	rewritten := journal(9)
	rewritten[4].Entry.Memo = "changed"
	prev := rewritten[3].Hash
	for i := 4; i < 9; i++ {
		rewritten[i].PrevHash, rewritten[i].Hash = prev, ledger.ChainHash(prev, rewritten[i].Sequence, rewritten[i].Entry)
		prev = rewritten[i].Hash
	}
	edited := journal(9) // record 5 changed, its hash not recomputed
	edited[4].Entry.Memo = "changed"
	for name, tc := range map[string]struct {
		records []ledger.Record
		cps     []ledger.SignedCheckpoint
		want    int64
		reason  string
	}{
		"Rewritten":     {rewritten, cps, 4, "records 4..6 do not reproduce the checkpoint of 6 records"},
		"ChainBroken":   {edited, cps, 5, "does not match the entry's content"},
		"Cut":           {records[:7], cps, 8, "the journal ends at sequence 7, but a checkpoint signed 2026-03-02T09:00:00.000000Z committed to 9 records: 8..9 are missing"},
		"Gap":           {append(append([]ledger.Record{}, records[:4]...), records[5:]...), cps, 5, "sequence 6 follows 4"},
		"SignedForkToo": {rewritten, append(cps, checkpointOf(t, s, rewritten[:6])), 4, "do not reproduce the checkpoint of 6 records"},
	} {
		t.Run(name, func(t *testing.T) {
			e := run(tc.records, tc.cps)
			if e == nil || e.Sequence != tc.want || !strings.Contains(e.Reason, tc.reason) {
				t.Errorf("%v, want sequence %d: %s", e, tc.want, tc.reason)
			}
		})
	}
	t.Run("Kept", func(t *testing.T) {
		jv, _ := ledger.NewJournalVerifier(cps[:1])
		jv.Keep(ledger.Checkpoint{Sequence: 5, Hash: records[5].Hash}) // record 6's hash, kept as 5's
		for _, r := range records {
			if e := jv.Check(r); e != nil {
				if e.Sequence != 4 || jv.Good().Sequence != 3 || !bytes.Equal(jv.Good().Hash, records[2].Hash) {
					t.Errorf("%v; last good %d", e, jv.Good().Sequence)
				}
				return
			}
		}
		t.Error("a kept hash the chain does not pass through was accepted")
	})
}
