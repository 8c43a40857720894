package cockroach

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/ledger"
)

// The auditors' proofs: that a record is in the tree a signed checkpoint
// commits to, and that a later tree extends an earlier one. They read only
// complete subtrees, which never change, so they need no transaction.

// SignedCheckpoint implements ledger.Journal.
func (s *Store) SignedCheckpoint(ctx context.Context) (ledger.SignedCheckpoint, bool, error) {
	c, err := scanCheckpoint(s.pool.QueryRow(ctx, sqlSignedCheckpoint))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, false, nil
	}
	return c, err == nil, s.translate(err)
}

// scanCheckpoint reads a row of sqlSignedCheckpoint, sqlCheckpointAt or
// sqlCheckpointsIn.
func scanCheckpoint(row pgx.Row) (ledger.SignedCheckpoint, error) {
	var c ledger.SignedCheckpoint
	var keyID int64
	var msg string
	err := row.Scan(&c.Size, &c.Root, &c.ChainHead, &c.Time, &c.Origin, &keyID, &msg)
	c.Time, c.KeyID, c.Note = c.Time.UTC(), uint32(keyID), []byte(msg)
	return c, err
}

// queueCheckpointAt queues the read of the checkpoint of size records into
// *out, left nil when none was signed at that size.
func queueCheckpointAt(b *pgx.Batch, size int64, out **ledger.SignedCheckpoint) {
	b.Queue(sqlCheckpointAt, size).QueryRow(func(row pgx.Row) error {
		c, err := scanCheckpoint(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		*out = &c
		return err
	})
}

// treeFacts is what a proof needs to know first: how many records the tree
// holds, and the latest signed checkpoint.
type treeFacts struct {
	head   treeHead
	latest *ledger.SignedCheckpoint
}

func (f *treeFacts) queue(b *pgx.Batch) {
	f.head.queue(b)
	b.Queue(sqlSignedCheckpoint).QueryRow(func(row pgx.Row) error {
		c, err := scanCheckpoint(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		f.latest = &c
		return err
	})
}

// send sends b to the pool in one round trip and runs its callbacks.
func (s *Store) send(ctx context.Context, b *pgx.Batch) error {
	return s.translate(s.pool.SendBatch(ctx, b).Close())
}

// InclusionProof implements ledger.Journal.
func (s *Store) InclusionProof(ctx context.Context, q ledger.InclusionQuery) (ledger.Inclusion, error) {
	var out ledger.Inclusion
	if err := q.Validate(); err != nil {
		return out, err
	}
	seq, found := q.Sequence, q.Sequence != 0
	var facts treeFacts
	b := &pgx.Batch{}
	if q.EntryID != "" {
		b.Queue(sqlRecordOfEntry, q.EntryID).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&seq)
			found = err == nil
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return err
		})
	}
	facts.queue(b)
	if err := s.send(ctx, b); err != nil {
		return out, err
	}
	if !found {
		return out, ledger.Errorf(ledger.CodeRecordNotFound, "entry %s is not sealed in the journal", q.EntryID)
	}
	size, err := proofSize(q.TreeSize, seq, facts, "the record")
	if err != nil {
		return out, err
	}
	plan, err := ledger.InclusionPlan(seq, size)
	if err != nil {
		return out, err
	}
	var records []ledger.Record
	var hashes [][]byte
	b = &pgx.Batch{}
	queueRecords(b, seq-1, seq, &records)
	queueTreeNodes(b, plan.Nodes(), &hashes)
	if facts.latest != nil && facts.latest.Size == size {
		out.Checkpoint = facts.latest
	} else {
		queueCheckpointAt(b, size, &out.Checkpoint)
	}
	if err := s.send(ctx, b); err != nil {
		return out, err
	}
	if len(records) == 0 {
		return out, ledger.Errorf(ledger.CodeRecordNotFound, "the journal has no record %d", seq)
	}
	out.Record, out.TreeSize = records[0], size
	out.Proof, err = plan.Proof(hashes)
	return out, err
}

// proofSize is the tree size a proof about record seq (or a tree of seq
// records) is made in: asked, or else the latest signed checkpoint's.
func proofSize(asked, seq int64, f treeFacts, what string) (int64, error) {
	switch {
	case asked == 0 && (f.latest == nil || f.latest.Size < seq):
		return 0, ledger.Errorf(ledger.CodeNotCheckpointed, "no signed checkpoint covers %s at %d yet", what, seq)
	case asked == 0:
		return f.latest.Size, nil
	case asked > f.head.size:
		return 0, ledger.Errorf(ledger.CodeTreeSizeOutOfRange, "the journal's tree holds %d records, not %d", f.head.size, asked)
	case asked < seq:
		return 0, ledger.Errorf(ledger.CodeTreeSizeOutOfRange, "a tree of %d records does not hold %s at %d", asked, what, seq)
	}
	return asked, nil
}

// ConsistencyProof implements ledger.Journal.
func (s *Store) ConsistencyProof(ctx context.Context, q ledger.ConsistencyQuery) (ledger.Consistency, error) {
	out := ledger.Consistency{From: q.From}
	if err := q.Validate(); err != nil {
		return out, err
	}
	var facts treeFacts
	b := &pgx.Batch{}
	facts.queue(b)
	if err := s.send(ctx, b); err != nil {
		return out, err
	}
	var err error
	if out.To, err = proofSize(q.To, q.From, facts, "the tree"); err != nil {
		return out, err
	}
	plan, err := ledger.ConsistencyPlan(q.From, out.To)
	if err != nil {
		return out, err
	}
	var hashes [][]byte
	b = &pgx.Batch{}
	queueTreeNodes(b, plan.Nodes(), &hashes)
	queueCheckpointAt(b, out.To, &out.Checkpoint)
	if err := s.send(ctx, b); err != nil {
		return out, err
	}
	out.Proof, err = plan.Proof(hashes)
	return out, err
}

// checkpointsIn reads the stored checkpoints of after < size <= to.
func (s *Store) checkpointsIn(ctx context.Context, after, to int64) ([]ledger.SignedCheckpoint, error) {
	rows, err := s.pool.Query(ctx, sqlCheckpointsIn, after, to)
	if err != nil {
		return nil, s.translate(err)
	}
	cps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.SignedCheckpoint, error) { return scanCheckpoint(row) })
	return cps, s.translate(err)
}

// storedRoot is the root of the stored tree of size records, from its right
// edge.
func (s *Store) storedRoot(ctx context.Context, size int64) ([]byte, error) {
	var hashes [][]byte
	b := &pgx.Batch{}
	queueTreeNodes(b, ledger.FrontierNodes(size), &hashes)
	if err := s.send(ctx, b); err != nil {
		return nil, err
	}
	t, err := ledger.TreeAt(size, hashes)
	if err != nil {
		return nil, err
	}
	return t.Root(), nil
}
