package cockroach

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/corebanking/ledger/ledger"
)

// Group commit. Moves (transfers, deposits, withdrawals) that arrive while
// the store is busy share one transaction and one statement, sqlMoveBatch:
// at most Options.MoveLanes such transactions run at once, and the moves
// that arrive meanwhile wait in a queue, from which the next free
// transaction takes up to Options.MoveBatch of them. A lone move runs by
// itself, as it would without batching. One statement for many moves costs
// the database far less than one each (one transaction, one plan, one WAL
// flush), and the server one round trip instead of many.
//
// A batch changes each balance row at most once, so that the statement can
// check every move on the rows as it read them: a move that would share a
// row or a request id with one already taken waits for the next batch.
// Busy internal accounts are split in shard rows; each transaction in
// flight (each lane) takes its shards from its own subset, so that
// concurrent batches of deposits do not wait on each other's rows.
//
// Batching changes no outcome. A move that the batch did not make (the
// rules refused it, or the batch failed: a request id already used, a
// serialization failure that outlasted its retries) is moved again by
// itself, on its caller's goroutine, by the path that answers refusals,
// replays and idempotency conflicts. A batch is one transaction: its moves
// commit together or not at all, and none is acknowledged before COMMIT.

// batchRetries is how often a failed batch is retried before its moves are
// moved one by one: a batch that conflicts keeps conflicting.
const batchRetries = 2

// linger is the longest a lane waits for a second move before it runs a
// lone one while another lane is busy; a move that arrives ends the wait.
// (Go's timers here fire a millisecond late at best.)
const linger = 500 * time.Microsecond

// Queue states of a pendingMove.
const (
	moveQueued int32 = iota
	moveTaken
	moveCancelled
)

// pendingMove is one move waiting for, or in, a batch.
type pendingMove struct {
	ctx   context.Context
	rq    request
	e     ledger.Entry // its ID and PostedAt are set by each attempt
	state atomic.Int32
	done  chan struct{} // closed when out, err and alone are set

	legs  [2]*leg
	moved bool // this attempt's statement made it

	out   ledger.Entry
	err   error
	alone bool // the batch did not make it: the caller moves it by itself
}

// batcher queues moves and runs them in batches.
type batcher struct {
	s     *Store
	size  int
	mu    sync.Mutex
	queue []*pendingMove
	lanes []bool // lanes[i]: a transaction runs in lane i
	// busy holds the balance rows of the moves in flight, in every lane: a
	// move that needs one waits, instead of conflicting with it.
	busy map[rowKey]bool
	// lastSize is the size of the last batch taken, in any lane.
	lastSize int
	// arrived, when not nil, is closed when the next move is queued.
	arrived chan struct{}

	batches, batched, alone atomic.Int64 // for MoveStats
}

func newBatcher(s *Store) *batcher {
	if s.opt.MoveBatch <= 1 {
		return nil
	}
	return &batcher{s: s, size: s.opt.MoveBatch, lanes: make([]bool, s.opt.MoveLanes), busy: map[rowKey]bool{}}
}

// MoveStats counts what group commit did since the store was made.
type MoveStats struct {
	// Batches is how many transactions carried two moves or more, and
	// Batched how many moves they made.
	Batches int64 `json:"batches"`
	Batched int64 `json:"batched"`
	// Alone is how many moves ran by themselves: alone in the queue,
	// refused by a batch's checks, or in a batch that failed.
	Alone int64 `json:"alone"`
}

// Since is what happened between earlier and m.
func (m MoveStats) Since(earlier MoveStats) MoveStats {
	return MoveStats{Batches: m.Batches - earlier.Batches, Batched: m.Batched - earlier.Batched,
		Alone: m.Alone - earlier.Alone}
}

// MoveStats reports group commit's counters; all zero when it is off.
func (s *Store) MoveStats() MoveStats {
	if s.batcher == nil {
		return MoveStats{}
	}
	b := s.batcher
	return MoveStats{Batches: b.batches.Load(), Batched: b.batched.Load(), Alone: b.alone.Load()}
}

// do queues pm and waits until it is made or handed back to be moved alone.
// A caller that finds a lane free runs the lane itself, its own move in the
// first batch, and hands the lane on to a goroutine if moves still wait.
// do returns ctx's error if ctx ends first, or OUTCOME_UNKNOWN if the move
// was already in a batch, which may still make it: a retry with the same
// request id then replays it.
func (b *batcher) do(ctx context.Context, pm *pendingMove) error {
	pm.done = make(chan struct{})
	b.mu.Lock()
	b.queue = append(b.queue, pm)
	if b.arrived != nil {
		close(b.arrived)
		b.arrived = nil
	}
	lane := b.claimLane()
	b.mu.Unlock()
	if lane >= 0 {
		b.drain(lane, pm)
	}
	select {
	case <-pm.done:
		return nil
	case <-ctx.Done():
		if pm.state.CompareAndSwap(moveQueued, moveCancelled) {
			return ctx.Err()
		}
		return &ledger.Error{Code: ledger.CodeOutcomeUnknown, Message: "gave up waiting for a batch in flight", Err: ctx.Err()}
	}
}

// claimLane returns a free lane, now taken, or -1. b.mu must be held.
func (b *batcher) claimLane() int {
	for i, busy := range b.lanes {
		if !busy {
			b.lanes[i] = true
			return i
		}
	}
	return -1
}

// drain runs batches in lane, the first with own if it is not nil, until
// own is done or, without own, until the queue is empty; then it frees the
// lane, or passes it to a goroutine that goes on while moves wait.
//
// A lone move while another lane is busy and batches are being made waits
// a moment (linger) for company: the callers of the batch that just ended
// are about to send their next moves, and lanes that ran each move by
// itself as it came would batch nothing under load. Without company it
// then goes alone; with few callers, batches are of one and nobody waits.
func (b *batcher) drain(lane int, own *pendingMove) {
	var rows []rowKey
	lingered := false
	for {
		b.mu.Lock()
		for _, k := range rows {
			delete(b.busy, k)
		}
		rows = rows[:0]
		if own != nil && own.state.Load() != moveQueued {
			if len(b.queue) > 0 {
				b.mu.Unlock()
				go b.drain(lane, nil)
				return
			}
			b.lanes[lane] = false
			b.mu.Unlock()
			return
		}
		if !lingered && len(b.queue) == 1 && b.lastSize > 1 && b.othersBusy(lane) {
			if b.arrived == nil {
				b.arrived = make(chan struct{})
			}
			arrived := b.arrived
			b.mu.Unlock()
			lingered = true
			t := time.NewTimer(linger)
			select {
			case <-arrived:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		var batch []*pendingMove
		batch, rows = b.take(lane, own, rows)
		lingered = false
		if len(batch) == 0 {
			b.lanes[lane] = false
			b.mu.Unlock()
			return
		}
		b.lastSize = len(batch)
		b.mu.Unlock()
		b.run(batch)
	}
}

// take removes the next batch from the queue: up to b.size moves in arrival
// order, passing over those that need a balance row in flight or taken by
// the batch already, or a request id the batch serves, which stay queued
// for a later batch. It marks the batch's rows busy and appends them to
// rows. b.mu must be held.
func (b *batcher) take(lane int, first *pendingMove, rows []rowKey) ([]*pendingMove, []rowKey) {
	var batch []*pendingMove
	ids := map[string]bool{}
	takeOne := func(pm *pendingMove) bool {
		switch {
		case pm.state.Load() != moveQueued:
			return true
		case len(batch) == b.size || !b.place(pm, lane, ids):
			return false
		case pm.state.CompareAndSwap(moveQueued, moveTaken):
			batch = append(batch, pm)
			for _, l := range pm.legs {
				k := rowKey{l.posting.AccountID, l.shard}
				b.busy[k] = true
				rows = append(rows, k)
			}
		}
		return true
	}
	keepFirst := first != nil && !takeOne(first)
	rest := b.queue[:0]
	for _, pm := range b.queue {
		if pm == first && keepFirst || pm != first && !takeOne(pm) {
			rest = append(rest, pm)
		}
	}
	clear(b.queue[len(rest):])
	b.queue = rest
	return batch, rows
}

// othersBusy reports whether a lane other than lane runs a transaction.
func (b *batcher) othersBusy(lane int) bool {
	for i, busy := range b.lanes {
		if busy && i != lane {
			return true
		}
	}
	return false
}

type rowKey struct {
	account string
	shard   int
}

// place picks pm's balance rows for a batch of lane, among those not busy,
// or reports that pm must wait. ids are the request ids the batch serves.
func (b *batcher) place(pm *pendingMove, lane int, ids map[string]bool) bool {
	if ids[pm.rq.id] {
		return false
	}
	var picked [2]rowKey
	for i, p := range pm.e.Postings {
		k, ok := b.pickRow(p.AccountID, lane)
		if !ok {
			return false
		}
		picked[i] = k
	}
	ids[pm.rq.id] = true
	for i, k := range picked {
		pm.legs[i] = &leg{posting: pm.e.Postings[i], shard: k.shard}
	}
	return true
}

// pickRow picks a row of account that is not busy: its only row, or for a
// sharded account one of lane's shards (shards s with s % lanes == lane, or
// shard lane % n when there are fewer shards than lanes), from a random
// start.
func (b *batcher) pickRow(account string, lane int) (rowKey, bool) {
	n, lanes := b.s.shards(account), len(b.lanes)
	first, step := lane, lanes
	if n <= lanes {
		first, step = lane%n, n
	}
	count := (n - first + step - 1) / step
	start := 0
	if count > 1 {
		start = rand.IntN(count)
	}
	for j := range count {
		k := rowKey{account, first + (start+j)%count*step}
		if !b.busy[k] {
			return k, true
		}
	}
	return rowKey{}, false
}

// run makes batch's moves and tells their callers.
func (b *batcher) run(batch []*pendingMove) {
	defer func() {
		// A lane may run on a goroutine of its own, where a panic would
		// take the server down: its callers get an internal error instead.
		if p := recover(); p != nil {
			b.s.opt.Logger.Error("panic in a batch of moves", "panic", p, "stack", string(debug.Stack()))
			for _, pm := range batch {
				pm.out, pm.err, pm.alone = ledger.Entry{}, ledger.Errorf(ledger.CodeInternal, "internal error"), false
			}
		}
		for _, pm := range batch {
			if pm.alone {
				b.alone.Add(1)
			}
			close(pm.done)
		}
	}()
	if len(batch) == 1 {
		pm := batch[0]
		pm.out, pm.err = b.s.moveAlone(pm.ctx, pm.rq.id, pm.rq.fp, pm.e)
		b.alone.Add(1)
		return
	}
	ctx, cancel := batchContext(batch)
	defer cancel()
	if err := b.s.moveBatch(ctx, batch); errors.Is(err, ErrCommitUnknown) {
		// The batch may have committed: moving its moves again could only
		// find that out, and its callers learn it by a replay instead.
		for _, pm := range batch {
			pm.err = b.s.translate(err)
		}
		return
	} else if err != nil {
		lvl := slogLevelFor(err)
		b.s.opt.Logger.Log(ctx, lvl, "batch of moves failed: moving them one by one",
			"moves", len(batch), "err", err)
		for _, pm := range batch {
			pm.alone = true
		}
		return
	}
	b.batches.Add(1)
	for _, pm := range batch {
		if !pm.moved {
			// Moved again by itself, which answers the refusal (or finds a
			// replay); a refusal the rules do not explain is a disagreement.
			if checkLegs(pm.legs[:], pm.e.Postings[0].Currency) == nil {
				b.s.opt.Logger.Error("the database refused a batched move the ledger's rules allow",
					"entry", pm.e.ID, "request_id", pm.rq.id)
			}
			pm.alone = true
			continue
		}
		b.batched.Add(1)
		if rules := checkLegs(pm.legs[:], pm.e.Postings[0].Currency); rules != nil {
			b.s.opt.Logger.Error("LEDGER RULE BROKEN: the database posted a move the ledger's rules refuse",
				"entry", pm.e.ID, "request_id", pm.rq.id, "rule", rules)
		}
		pm.out = pm.e
	}
}

// batchContext is the context a batch runs in: its first move's values
// (the fault hooks of the tests read them), not cancelled with any one
// caller, and ending at the latest of its callers' deadlines if they all
// have one.
func batchContext(batch []*pendingMove) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, pm := range batch {
		d, ok := pm.ctx.Deadline()
		if !ok {
			return context.WithoutCancel(batch[0].ctx), func() {}
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(context.WithoutCancel(batch[0].ctx), latest)
}

// moveBatch makes the moves of batch that the ledger's rules allow, in one
// transaction of one round trip: BEGIN, sqlMoveBatch, COMMIT. It is retried
// as a whole on serialization failures, batchRetries times; any other
// failure (a unique violation: a request id already used) is returned, and
// the caller moves the batch's moves one by one.
func (s *Store) moveBatch(ctx context.Context, batch []*pendingMove) error {
	return s.retryTx(ctx, batchRetries, func(err error) error { return err }, func(t *txn) error {
		now := s.now()
		n := len(batch)
		a := batchArgs{
			ids: make([][16]byte, n), kinds: make([]string, n), actors: make([]string, n),
			requests: make([]string, n), memos: make([]string, n), currencies: make([]string, n),
			srcs: make([]string, n), srcShards: make([]int32, n), amounts: make([]int64, n),
			dsts: make([]string, n), dstShards: make([]int32, n), fps: make([][]byte, n),
			results: make([][]byte, n), los: make([]string, n), his: make([]string, n),
		}
		byID := make(map[[16]byte]*pendingMove, n)
		for i, pm := range batch {
			id := uuid.New()
			pm.e.ID, pm.e.PostedAt, pm.moved = id.String(), now, false
			for _, l := range pm.legs {
				*l = leg{posting: l.posting, shard: l.shard}
			}
			result, err := json.Marshal(pm.e)
			if err != nil {
				return err
			}
			from, to := pm.legs[0], pm.legs[1]
			lo, hi := from.posting.AccountID, to.posting.AccountID
			if hi < lo {
				lo, hi = hi, lo
			}
			a.ids[i], a.kinds[i], a.actors[i], a.requests[i], a.memos[i] =
				id, pm.e.Kind.String(), string(pm.e.Actor), pm.rq.id, pm.e.Memo
			a.currencies[i], a.srcs[i], a.srcShards[i], a.amounts[i] =
				from.posting.Currency, from.posting.AccountID, int32(from.shard), to.posting.Amount
			a.dsts[i], a.dstShards[i], a.fps[i], a.results[i], a.los[i], a.his[i] =
				to.posting.AccountID, int32(to.shard), pm.rq.fp, result, lo, hi
			byID[id] = pm
		}
		b := &pgx.Batch{}
		if onPostgres(t.conn) {
			b.Queue(sqlGenericPlan)
		}
		b.Queue(sqlMoveBatch, a.ids, a.kinds, a.actors, a.requests, a.memos, now, a.currencies,
			a.srcs, a.srcShards, a.amounts, a.dsts, a.dstShards, ledger.MaxBalance, a.fps, a.results, a.los, a.his,
		).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var id [16]byte
				var acct ledger.Account
				var kind, status string
				var posted, held int64
				var moved bool
				if err := rows.Scan(&id, &acct.ID, &acct.Currency, &kind, &status, &posted, &held, &moved); err != nil {
					return err
				}
				pm := byID[id]
				if pm == nil {
					return errors.New("sqlMoveBatch returned an entry it was not given")
				}
				l := pm.legs[0]
				if acct.ID != l.posting.AccountID {
					l = pm.legs[1]
				}
				acct.Kind, acct.Status = kinds[kind], statuses[status]
				l.acct, l.found, l.posted, l.held = acct, true, posted+l.posting.Amount, held
				pm.moved = moved
			}
			return rows.Err()
		})
		return t.commit(ctx, b)
	})
}

// onPostgres reports whether conn is to PostgreSQL rather than CockroachDB,
// which announces its version when a session starts.
func onPostgres(conn *pgx.Conn) bool { return conn.PgConn().ParameterStatus("crdb_version") == "" }

// batchArgs are sqlMoveBatch's arrays, one element per move.
type batchArgs struct {
	ids                                        [][16]byte // UUIDs, as bytes: see sealer.go
	kinds, actors, requests, memos, currencies []string
	srcs, dsts, los, his                       []string
	srcShards, dstShards                       []int32
	amounts                                    []int64
	fps, results                               [][]byte
}

// slogLevelFor logs the expected failures of a batch (a request id used
// before, contention) quietly, and anything else loudly.
func slogLevelFor(err error) slog.Level {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && (pg.Code == pgerrcode.UniqueViolation || pg.Code == pgerrcode.SerializationFailure ||
		pg.Code == pgerrcode.DeadlockDetected) {
		return slog.LevelDebug
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}
