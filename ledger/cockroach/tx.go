package cockroach

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// txn is one attempt of a SERIALIZABLE transaction that costs as few round
// trips as its logic allows: BEGIN travels in the first batch of statements
// and COMMIT in the last, so a transfer takes one round trip where
// BEGIN ... COMMIT one statement at a time takes seven. Every statement still
// runs inside the transaction, and COMMIT's own error is reported (marked
// with ErrCommit), so a transaction that did not commit is never taken for
// one that did.
type txn struct {
	conn    *pgx.Conn
	attempt int
	// lookup is set once an earlier attempt failed with a unique
	// violation: a row this transaction inserts blind (an idempotency
	// record, an account, a subscription) may be there now, so it looks
	// first. An attempt after a serialization failure reads no more than a
	// first one: its reads would take predicate locks that concurrent
	// inserts conflict with, and a retry that reads can keep failing where
	// a blind one succeeds (a twin committed meanwhile fails the insert,
	// and the next attempt looks).
	lookup       bool
	beforeCommit func(ctx context.Context, attempt int) error
	begun        bool
	committed    bool
}

const sqlBegin = "BEGIN ISOLATION LEVEL SERIALIZABLE"

func init() { statements = append(statements, sqlBegin) }

// rollback ends a transaction that is open, discarding its writes.
func (t *txn) rollback(ctx context.Context) error {
	if !t.begun || t.committed {
		return nil
	}
	if _, err := t.conn.Exec(ctx, "ROLLBACK"); err != nil {
		return err
	}
	t.begun = false
	return nil
}

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

// commit sends b and then COMMIT as one round trip. Statements of b with a
// callback (QueuedQuery.QueryRow and friends) have it run on their result;
// the others are executed. A failure in this round trip is marked with
// ErrCommit when the transaction did not commit (a serializable
// transaction that another one's commit has doomed fails at the first
// statement of the round trip, or at COMMIT itself), and with
// ErrCommitUnknown when it may have: the COMMIT went out and its answer was
// lost (see mayHaveCommitted).
//
// A transaction can be a single round trip, BEGIN to COMMIT, when its
// statements decide for themselves whether to write (sqlMove). With a
// BeforeCommit hook such a transaction is split in two, so that the hook
// runs between its statements and its COMMIT, as it does for the others.
func (t *txn) commit(ctx context.Context, b *pgx.Batch) error {
	if t.beforeCommit != nil {
		if !t.begun && b.Len() > 0 {
			if err := t.exec(ctx, b); err != nil {
				return err
			}
			b = &pgx.Batch{}
		}
		if err := t.beforeCommit(ctx, t.attempt); err != nil {
			return err
		}
	}
	queued := slices.Clone(b.QueuedQueries)
	b.Queue("COMMIT")
	br, err := t.send(ctx, b)
	if err != nil {
		return commitFailed(err) // BEGIN's answer, which came first, was lost or refused
	}
	defer br.Close()
	var unread error // a result the database gave but a callback could not take
	for _, q := range queued {
		if q.Fn != nil {
			err = q.Fn(br)
		} else {
			_, err = br.Exec()
		}
		var pg *pgconn.PgError
		if err != nil && q.Fn != nil && !errors.As(err, &pg) && unread == nil {
			unread = err // the statement ran: the transaction goes on to COMMIT
			continue
		}
		if err != nil {
			return commitFailed(err)
		}
	}
	ct, err := br.Exec()
	if err != nil {
		return commitFailed(err)
	}
	if ct.String() != "COMMIT" { // PostgreSQL answers ROLLBACK to COMMIT of a failed transaction
		return fmt.Errorf("%w: database answered %q", ErrCommit, ct.String())
	}
	t.committed = true
	if unread != nil {
		return fmt.Errorf("committed, but a result could not be read: %w", unread)
	}
	// Committed: nothing the connection does after COMMIT's answer (its
	// deferred Close reads the batch's end) changes that.
	return nil
}
