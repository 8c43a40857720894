package cockroach

import (
	"context"
	"encoding/json"
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
//
// A request id is the caller's own: records are kept per actor (the
// caller's "role/name"), so one caller can neither replay nor block
// another's id.
type request struct {
	actor    ledger.Actor
	id       string
	fp       []byte
	out      any
	replay   bool
	lookedAt int // the attempt whose batch looked the record up
}

// newRequest is the record of the request id of ctx's caller, whose
// content has fingerprint fp and whose replayed result goes to out.
func newRequest(ctx context.Context, id string, fp []byte, out any) *request {
	return &request{actor: ledger.ActorFrom(ctx), id: id, fp: fp, out: out}
}

// queueLookup queues the record's lookup into b once an attempt failed with
// a unique violation (txn.lookup).
func (rq *request) queueLookup(t *txn, b *pgx.Batch) {
	if !t.lookup {
		return
	}
	rq.lookedAt = t.attempt
	b.Queue(sqlGetRequest, string(rq.actor), rq.id).QueryRow(func(row pgx.Row) (err error) {
		rq.replay, err = replayed(row, rq.id, rq.fp, rq.out)
		return err
	})
}

// queueCheck queues the lookup of the record into b, whatever the attempt:
// rq.replay tells a request done before with the same content, whose result
// goes to rq.out; *conflict is set to IDEMPOTENCY_CONFLICT for one done with
// other content.
func (rq *request) queueCheck(b *pgx.Batch, conflict *error) {
	b.Queue(sqlGetRequest, string(rq.actor), rq.id).QueryRow(func(row pgx.Row) error {
		replay, err := replayed(row, rq.id, rq.fp, rq.out)
		var le *ledger.Error
		if errors.As(err, &le) {
			*conflict = err
			return nil
		}
		rq.replay = replay
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
	// Look outside the transaction: it may have written the record itself
	// (the posting statement does) before the refusal.
	if err := t.rollback(ctx); err != nil {
		return err
	}
	replay, lerr := replayed(t.conn.QueryRow(ctx, sqlGetRequest, string(rq.actor), rq.id), rq.id, rq.fp, rq.out)
	if lerr != nil {
		return lerr
	}
	if replay {
		rq.replay = true
		return nil
	}
	return err
}

// lockRow reads and locks the row that sql (with args) selects FOR
// UPDATE, scanned by scan, after rq's lookup on a retry, in one round trip.
// A replay returns with rq.replay set; a missing row is refused with
// notFound, as rq answers it.
func lockRow[T any](ctx context.Context, t *txn, rq *request, scan func(pgx.Row) (T, error), notFound error,
	sql string, args ...any) (T, error) {
	var v T
	found := false
	b := &pgx.Batch{}
	rq.queueLookup(t, b)
	b.Queue(sql, args...).QueryRow(func(row pgx.Row) (err error) {
		v, err = scan(row)
		found = err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err := t.exec(ctx, b); err != nil || rq.replay {
		return v, err
	}
	if !found {
		return v, rq.refuse(ctx, t, notFound)
	}
	return v, nil
}

// queueRecord queues the record, with the result it gives, into b.
func (rq *request) queueRecord(b *pgx.Batch, result any, now time.Time) error {
	buf, err := json.Marshal(result)
	if err != nil {
		return err
	}
	b.Queue(sqlPutRequest, string(rq.actor), rq.id, rq.fp, buf, now)
	return nil
}
