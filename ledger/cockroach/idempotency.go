package cockroach

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/ledger"
)

// request is one mutating request's idempotency record: its id, the
// fingerprint of its content, and where a replayed result goes.
//
// An attempt does not look the record up: it writes it at commit, and if
// the id was already used the insert fails with a unique violation, which
// retries the transaction; the attempts after that look (txn.lookup). So
// nearly every attempt, retries after serialization failures included,
// reads nothing here (and, on PostgreSQL, takes no predicate lock on the
// records' index, which concurrent inserts would conflict with). An attempt
// that refuses the request without having looked looks before it answers,
// since a replay of a request that succeeded must get its result, not a
// refusal the ledger's state now calls for.
type request struct {
	id       string
	fp       []byte
	out      any
	replay   bool
	lookedAt int // the attempt whose batch looked the record up
}

// queueLookup queues the record's lookup into b once an attempt failed with
// a unique violation (txn.lookup).
func (rq *request) queueLookup(t *txn, b *pgx.Batch) {
	if !t.lookup {
		return
	}
	rq.lookedAt = t.attempt
	b.Queue(sqlGetRequest, rq.id).QueryRow(func(row pgx.Row) (err error) {
		rq.replay, err = replayed(row, rq.id, rq.fp, rq.out)
		return err
	})
}

// refuse returns the refusal err, unless the request was already done: then
// it loads the original result and returns nil (rq.replay tells).
func (rq *request) refuse(ctx context.Context, t *txn, err error) error {
	var le *ledger.Error
	if rq.lookedAt == t.attempt || !errors.As(err, &le) || le.Code == ledger.CodeInternal || le.Code == ledger.CodeUnavailable {
		return err
	}
	replay, lerr := replayed(t.conn.QueryRow(ctx, sqlGetRequest, rq.id), rq.id, rq.fp, rq.out)
	if lerr != nil {
		return lerr
	}
	if replay {
		rq.replay = true
		return nil
	}
	return err
}

// queueRecord queues the record, with the result it gives, into b.
func (rq *request) queueRecord(b *pgx.Batch, result any, now time.Time) error {
	return queueRequest(b, rq.id, rq.fp, result, now)
}
