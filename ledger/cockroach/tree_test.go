package cockroach_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// TestSealerSignsCheckpoints: the sealer keeps the Merkle tree with the
// records, signs a checkpoint when the journal has grown and the interval
// has passed, hands it to the witness after the commit, and the store
// proves inclusion and consistency against those checkpoints.
func TestSealerSignsCheckpoints(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	signer, verifier := mustSigner(t, "test/journal")
	var witnessed []ledger.SignedCheckpoint
	z := f.MustSealer(t, cockroach.SealerOptions{Signer: signer, CheckpointInterval: time.Hour,
		Witness: func(c ledger.SignedCheckpoint) error {
			witnessed = append(witnessed, c)
			return nil
		}})
	f.MustOpen(t, "alice", 1_000)
	f.MustSealAll(t, z)
	f.MustOpen(t, "bob", 0)
	head := f.MustSealAll(t, z)
	// The first checkpoint came with the first records; the next is due
	// only after an hour.
	if len(witnessed) != 1 || witnessed[0].Size != 3 {
		t.Fatalf("witnessed %+v, want one checkpoint of the first 3 records", witnessed)
	}
	first, err := ledger.OpenCheckpoint(witnessed[0].Note, verifier)
	if err != nil {
		t.Fatal(err)
	}
	latest, ok, err := f.SignedCheckpoint(ctx)
	if err != nil || !ok || !bytes.Equal(latest.Note, first.Note) || latest.KeyID != verifier.KeyHash() {
		t.Fatalf("SignedCheckpoint = %+v, %v, %v", latest, ok, err)
	}
	// An hour on, the next checkpoint covers the whole journal; the
	// witness refuses it, which the sealer reports after committing.
	zLater := f.MustSealer(t, cockroach.SealerOptions{Holder: z.Holder(), Signer: signer, CheckpointInterval: time.Nanosecond,
		Witness: func(ledger.SignedCheckpoint) error { return errors.New("disk full") }})
	res, err := zLater.SealOnce(ctx)
	if !errors.Is(err, cockroach.ErrWitness) || res.Checkpoint == nil || res.Checkpoint.Size != head.Sequence {
		t.Fatalf("SealOnce = %+v, %v, want a checkpoint of %d the witness refused", res, err, head.Sequence)
	}
	latest, _, _ = f.SignedCheckpoint(ctx)
	if latest.Size != head.Sequence {
		t.Fatalf("the latest checkpoint is of %d records, want %d", latest.Size, head.Sequence)
	}
	if !bytes.Equal(latest.ChainHead, head.Hash) {
		t.Errorf("its chain head %x, the journal's %x", latest.ChainHead, head.Hash)
	}

	records := f.MustListJournal(t, 0)
	for _, r := range records {
		p, err := f.InclusionProof(ctx, ledger.InclusionQuery{EntryID: r.Entry.ID})
		if err != nil {
			t.Fatal(err)
		}
		if p.TreeSize != latest.Size || p.Checkpoint == nil || !bytes.Equal(p.Checkpoint.Note, latest.Note) || p.Record.Sequence != r.Sequence {
			t.Fatalf("proof of %d: %+v", r.Sequence, p)
		}
		if err := ledger.VerifyInclusion(r.Sequence, latest.Size, ledger.LeafHash(r.Sequence, p.Record.Entry), p.Proof, latest.Root); err != nil {
			t.Errorf("inclusion of %d: %v", r.Sequence, err)
		}
	}
	c, err := f.ConsistencyProof(ctx, ledger.ConsistencyQuery{From: first.Size})
	if err != nil || c.To != latest.Size || c.Checkpoint == nil {
		t.Fatalf("ConsistencyProof = %+v, %v", c, err)
	}
	if err := ledger.VerifyConsistency(first.Size, latest.Size, c.Proof, first.Root, latest.Root); err != nil {
		t.Errorf("consistency: %v", err)
	}
	v := f.MustVerify(t, ledger.JournalRange{})
	if !v.OK || v.Checkpoints != 2 || !bytes.Equal(v.Root, latest.Root) {
		t.Errorf("verification = %+v, want both checkpoints reproduced", v)
	}

	for name, tc := range map[string]struct {
		q    ledger.InclusionQuery
		code ledger.Code
	}{
		"ErrUnknownEntry":    {ledger.InclusionQuery{EntryID: "00000000-0000-4000-8000-000000000000"}, ledger.CodeRecordNotFound},
		"ErrBeyondTheTree":   {ledger.InclusionQuery{Sequence: 1, TreeSize: head.Sequence + 1}, ledger.CodeTreeSizeOutOfRange},
		"ErrTreeTooSmall":    {ledger.InclusionQuery{Sequence: 4, TreeSize: 3}, ledger.CodeTreeSizeOutOfRange},
		"ErrBothWays":        {ledger.InclusionQuery{EntryID: records[0].Entry.ID, Sequence: 1}, ledger.CodeInvalidArgument},
		"ErrNotCheckpointed": {ledger.InclusionQuery{Sequence: head.Sequence + 1}, ledger.CodeNotCheckpointed},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.InclusionProof(ctx, tc.q)
			AssertCode(t, err, tc.code)
		})
	}
	// A tree size with no checkpoint signed at it still has a proof, and
	// no checkpoint to check it against.
	if p, err := f.InclusionProof(ctx, ledger.InclusionQuery{Sequence: 1, TreeSize: 2}); err != nil || p.Checkpoint != nil || p.TreeSize != 2 {
		t.Errorf("proof in the tree of 2 = %+v, %v", p, err)
	}
}

// TestVerifyJournalFindsRewrites changes what the server's own
// verification can see: a stored checkpoint that the records no longer
// reproduce, a cut journal, and a tree that does not match the records.
func TestVerifyJournalFindsRewrites(t *testing.T) {
	setup := func(t *testing.T) (*fixture, ledger.Checkpoint) {
		f := MustOpenStore(t, cockroach.Options{})
		signer, _ := mustSigner(t, "test/journal")
		z := f.MustSealer(t, cockroach.SealerOptions{Signer: signer, CheckpointInterval: time.Nanosecond})
		f.MustOpen(t, "alice", 1_000)
		f.MustSealAll(t, z)
		f.MustOpen(t, "bob", 10)
		return f, f.MustSealAll(t, z)
	}
	t.Run("RewrittenUnderACheckpoint", func(t *testing.T) {
		f, _ := setup(t)
		// Record 2 changed, and every hash after it recomputed, as the
		// superuser can; the stored checkpoint of 3 records still says
		// otherwise.
		pgtest.Tamper(t, f.pool, `UPDATE entries SET memo = 'changed' WHERE entry_id = (SELECT entry_id FROM journal WHERE sequence = 2)`)
		rechain(t, f)
		v := f.MustVerify(t, ledger.JournalRange{})
		if v.OK || v.BadSequence != 1 || !strings.Contains(v.Reason, "do not reproduce the checkpoint of 3 records") {
			t.Errorf("verification = %+v", v)
		}
	})
	t.Run("CutTail", func(t *testing.T) {
		f, head := setup(t)
		pgtest.TamperFunc(t, f.pool, func(ctx context.Context, tx pgx.Tx) error { return pgtest.CutJournal(ctx, tx, 4) })
		v := f.MustVerify(t, ledger.JournalRange{})
		want := "committed to " + strconv.FormatInt(head.Sequence, 10) + " records"
		if v.OK || v.BadSequence != 4 || !strings.Contains(v.Reason, want) {
			t.Errorf("verification = %+v, want sequence 4: %s", v, want)
		}
		// The checkpoints cut as well: the entries still show.
		pgtest.Tamper(t, f.pool, `DELETE FROM journal_checkpoints WHERE tree_size > 3`)
		storeTree(t, f, 3, ledger.LeafHash)
		v = f.MustVerify(t, ledger.JournalRange{})
		if v.OK || v.BadSequence != 0 || !strings.Contains(v.Reason, "is not in the journal, nor waiting to be sealed") {
			t.Errorf("verification = %+v, want an entry not sealed", v)
		}
	})
	// A sealed entry put back in the queue, as a hand on the tables would:
	// the next sealer would record it a second time.
	t.Run("SealedAndWaitingAgain", func(t *testing.T) {
		f, _ := setup(t)
		pgtest.Tamper(t, f.pool, `INSERT INTO journal_pending (entry_id, posted_at)
			SELECT entry_id, posted_at FROM journal WHERE sequence = 2`)
		var id string
		if err := f.pool.QueryRow(context.Background(), `SELECT CAST(entry_id AS TEXT) FROM journal WHERE sequence = 2`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		v := f.MustVerify(t, ledger.JournalRange{})
		if v.OK || v.BadSequence != 0 || v.Reason != "entry "+id+" is sealed more than once" {
			t.Errorf("verification = %+v, want entry %s sealed more than once", v, id)
		}
	})
	t.Run("TreeNotTheRecords", func(t *testing.T) {
		f, head := setup(t)
		storeTree(t, f, head.Sequence, func(seq int64, e ledger.Entry) []byte {
			if seq == 5 {
				e.Memo = "not the record's"
			}
			return ledger.LeafHash(seq, e)
		})
		v := f.MustVerify(t, ledger.JournalRange{})
		if v.OK || !strings.Contains(v.Reason, "the stored Merkle tree of "+strconv.FormatInt(head.Sequence, 10)+" records has root") {
			t.Errorf("verification = %+v", v)
		}
	})
}

// rechain recomputes every record's chain hash from the entries as they
// stand, as the database's superuser would after changing one.
func rechain(t *testing.T, f *fixture) {
	t.Helper()
	prev := ledger.GenesisHash()
	b := &pgx.Batch{}
	for _, r := range f.MustListJournal(t, 0) {
		hash := ledger.ChainHash(prev, r.Sequence, r.Entry)
		pgtest.QueueRecordHashes(b, r.Sequence, prev, hash)
		prev = hash
	}
	pgtest.TamperFunc(t, f.pool, func(ctx context.Context, tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
}

// storeTree replaces the stored tree with one of the first n records, whose
// leaves leaf makes, as the database's superuser could.
func storeTree(t *testing.T, f *fixture, n int64, leaf func(int64, ledger.Entry) []byte) {
	t.Helper()
	tree := ledger.NewTree()
	var nodes []byte
	for _, r := range f.MustListJournal(t, 0)[:n] {
		if err := tree.Append(leaf(r.Sequence, r.Entry), func(n ledger.TreeNode) { nodes = append(nodes, n.Hash...) }); err != nil {
			t.Fatal(err)
		}
	}
	pgtest.Tamper(t, f.pool, `DELETE FROM journal_tree_chunks`,
		"INSERT INTO journal_tree_chunks (first_node, tree_size, nodes) VALUES (0, "+strconv.FormatInt(n, 10)+", '\\x"+hexOf(nodes)+"')")
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// TestTreeCatchesUp: a journal sealed before the tree existed (migration
// 30) is added to the tree before anything new is sealed, and only then is
// a checkpoint signed.
func TestTreeCatchesUp(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	for i := range 5 {
		f.MustOpen(t, "acct-"+strconv.Itoa(i), 100)
	}
	f.MustSealAll(t, f.MustSealer(t, cockroach.SealerOptions{Holder: "h"}))
	pgtest.Tamper(t, f.pool, `DELETE FROM journal_tree_chunks`) // as before migration 30
	f.MustOpen(t, "late", 0)
	signer, _ := mustSigner(t, "test/journal")
	z := f.MustSealer(t, cockroach.SealerOptions{Holder: "h", Signer: signer, Batch: 4, CheckpointInterval: time.Nanosecond})
	var steps []cockroach.SealResult
	for {
		res, err := z.SealOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, res)
		if !res.Leader {
			t.Fatalf("%+v: not the leader", res)
		}
		if !res.TreeBehind && res.Sealed() == 0 {
			break
		}
	}
	// 11 records to add to the tree, 4 a transaction; then the new entry.
	for i, res := range steps[:3] {
		if !res.TreeBehind || res.Sealed() != 0 || (res.Checkpoint != nil) != (i == 2) {
			t.Errorf("step %d: %+v, want the tree catching up, a checkpoint only once it has", i, res)
		}
	}
	if res := steps[3]; res.TreeBehind || res.Sealed() != 1 || res.Checkpoint == nil || res.Checkpoint.Size != 12 {
		t.Errorf("step 3: %+v, want the new entry sealed and a checkpoint of 12", res)
	}
	if v := f.MustVerify(t, ledger.JournalRange{}); !v.OK || v.Checkpoints != 2 {
		t.Errorf("verification = %+v", v)
	}
}
