package cockroach

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// txn is one attempt of a SERIALIZABLE transaction that costs as few round
// trips as its logic allows: BEGIN travels in the first batch of statements
// and COMMIT in the last, so a transfer takes two round trips where
// BEGIN ... COMMIT one statement at a time takes ten. Every statement still
// runs inside the transaction, and COMMIT's own error is reported (marked
// with ErrCommit), so a transaction that did not commit is never taken for
// one that did.
type txn struct {
	conn         *pgx.Conn
	attempt      int
	beforeCommit func(ctx context.Context, attempt int) error
	begun        bool
	committed    bool
}

const sqlBegin = "BEGIN ISOLATION LEVEL SERIALIZABLE"

// send sends b as one round trip, beginning the transaction first if this
// is its first batch. The caller reads b's results and closes them.
func (t *txn) send(ctx context.Context, b *pgx.Batch) (pgx.BatchResults, error) {
	if !t.begun {
		b.QueuedQueries = append([]*pgx.QueuedQuery{{SQL: sqlBegin}}, b.QueuedQueries...)
	}
	br := t.conn.SendBatch(ctx, b)
	if !t.begun {
		t.begun = true
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, err
		}
	}
	return br, nil
}

// exec sends b as one round trip and returns the first error; b's own
// callbacks (QueuedQuery.QueryRow and friends) read the results.
func (t *txn) exec(ctx context.Context, b *pgx.Batch) error {
	br, err := t.send(ctx, b)
	if err != nil {
		return err
	}
	return br.Close()
}

// commit sends b and then COMMIT as one round trip. b must hold only
// statements whose results are not read (inserts, updates). Any failure in
// this round trip means the transaction did not commit, and is marked with
// ErrCommit: a serializable transaction that another one's commit has
// doomed fails at the first statement of the round trip, not at COMMIT.
func (t *txn) commit(ctx context.Context, b *pgx.Batch) error {
	if t.beforeCommit != nil {
		if err := t.beforeCommit(ctx, t.attempt); err != nil {
			return err
		}
	}
	n := b.Len()
	b.Queue("COMMIT")
	br, err := t.send(ctx, b)
	if err != nil {
		return err
	}
	defer br.Close()
	for range n {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("%w: %w", ErrCommit, err)
		}
	}
	ct, err := br.Exec()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCommit, err)
	}
	if ct.String() != "COMMIT" { // PostgreSQL answers ROLLBACK to COMMIT of a failed transaction
		return fmt.Errorf("%w: database answered %q", ErrCommit, ct.String())
	}
	t.committed = true
	return br.Close()
}
