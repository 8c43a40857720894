package cockroach

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/corebanking/ledger/ledger"
)

// Group commit. Entries (from transfers, deposits, withdrawals, general
// entries, reversals, and the items of independent batches) that arrive
// while the store is busy share one transaction and one statement, sqlPost:
// at most Options.MoveLanes such transactions run at once, and the entries
// that arrive meanwhile wait in a queue, from which the next free
// transaction takes up to Options.MoveBatch of them. A lone entry is posted
// by itself, as it would be without batching. One statement for many
// entries costs the database far less than one each (one transaction, one
// plan, one WAL flush), and the server one round trip instead of many.
//
// The entries of a batch may share balance rows (a payroll debits one
// account many times); the statement checks each on what the entries
// before it could leave (ledger.CheckProposals). Two transactions in
// flight never share a row: an entry that needs a row another lane holds
// waits for a later batch. Busy internal accounts are split in shard rows;
// each lane takes its shards from its own subset, so that concurrent
// batches of deposits do not wait on each other's rows.
//
// Batching changes no outcome. An entry that the batch did not post (the
// rules refused it, or the batch failed: a request id already used, a
// serialization failure that outlasted its retries) is posted again by
// itself, on its caller's goroutine, by the path that answers refusals,
// replays and idempotency conflicts. A batch is one transaction: its
// entries commit together or not at all, and none is acknowledged before
// COMMIT.

// batchRetries is how often a failed batch is retried before its entries
// are posted one by one: a batch that conflicts keeps conflicting.
const batchRetries = 2

// linger is the longest a lane waits for a second entry before it posts a
// lone one while another lane is busy; an entry that arrives ends the wait.
// (Go's timers here fire a millisecond late at best.)
const linger = 500 * time.Microsecond

// Queue states of a proposal.
const (
	moveQueued int32 = iota
	moveTaken
	moveCancelled
)

// batcher queues entries and posts them in batches.
type batcher struct {
	s     *Store
	size  int
	mu    sync.Mutex
	queue []*proposal
	lanes []bool // lanes[i]: a transaction runs in lane i
	// busy holds the balance rows of the entries in flight, and the lane
	// whose batch has each: an entry that needs a row another lane has
	// waits, instead of conflicting with it.
	busy map[rowKey]int
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
	return &batcher{s: s, size: s.opt.MoveBatch, lanes: make([]bool, s.opt.MoveLanes), busy: map[rowKey]int{}}
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

// do queues own and waits until each is posted or handed back to be posted
// alone. A caller that finds a lane free runs the lane itself, its own
// entries in the first batches, and hands the lane on to a goroutine if
// entries still wait. do returns ctx's error if ctx ends first; an entry
// already in a batch then may still be posted (see outcome).
func (b *batcher) do(ctx context.Context, own ...*proposal) error {
	b.mu.Lock()
	for _, p := range own {
		p.done = make(chan struct{})
		p.state.Store(moveQueued)
		b.queue = append(b.queue, p)
	}
	if b.arrived != nil {
		close(b.arrived)
		b.arrived = nil
	}
	lane := b.claimLane()
	b.mu.Unlock()
	if lane >= 0 {
		b.drain(lane, own)
	}
	for _, p := range own {
		select {
		case <-p.done:
		case <-ctx.Done():
			for _, p := range own {
				p.state.CompareAndSwap(moveQueued, moveCancelled)
			}
			return ctx.Err()
		}
	}
	return nil
}

// outcome is what p's caller learns when it gave up waiting with err: the
// entry was still queued, and never will be posted; or it was in a batch in
// flight, which may post it, and OUTCOME_UNKNOWN: a retry with the same
// request id then replays it.
func outcome(p *proposal, err error) error {
	if p.state.Load() == moveCancelled {
		return err
	}
	return &ledger.Error{Code: ledger.CodeOutcomeUnknown, Message: "gave up waiting for a batch in flight", Err: err}
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

// waiting reports whether any of own is still queued.
func waiting(own []*proposal) bool {
	for _, p := range own {
		if p.state.Load() == moveQueued {
			return true
		}
	}
	return false
}

// drain runs batches in lane, its caller's own entries first, until none of
// own is queued any more or, without own, until the queue is empty; then it
// frees the lane, or passes it to a goroutine that goes on while entries
// wait.
//
// A lone entry while another lane is busy and batches are being made waits
// a moment (linger) for company: the callers of the batch that just ended
// are about to send their next entries, and lanes that posted each entry by
// itself as it came would batch nothing under load. Without company it
// then goes alone; with few callers, batches are of one and nobody waits.
func (b *batcher) drain(lane int, own []*proposal) {
	var rows []rowKey
	lingered := false
	for {
		b.mu.Lock()
		for _, k := range rows {
			delete(b.busy, k)
		}
		rows = rows[:0]
		if own != nil && !waiting(own) {
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
		var batch []*proposal
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

// take removes the next batch from the queue: up to b.size entries, own's
// first, then in arrival order, passing over those that need a balance row
// another lane has or a request id the batch serves, which stay queued for
// a later batch. It marks the batch's rows busy and appends them to rows.
// b.mu must be held.
func (b *batcher) take(lane int, own []*proposal, rows []rowKey) ([]*proposal, []rowKey) {
	var batch []*proposal
	ids := map[requestKey]bool{}
	takeOne := func(p *proposal) bool {
		switch {
		case p.state.Load() != moveQueued:
			return true
		case len(batch) == b.size || !b.place(p, lane, ids):
			return false
		case p.state.CompareAndSwap(moveQueued, moveTaken):
			batch = append(batch, p)
			for _, l := range p.legs {
				k := rowKey{l.Posting.AccountID, l.Shard}
				if _, ok := b.busy[k]; !ok {
					b.busy[k] = lane
					rows = append(rows, k)
				}
			}
		}
		return true
	}
	kept := map[*proposal]bool{}
	for _, p := range own {
		if !takeOne(p) {
			kept[p] = true
		}
	}
	mine := make(map[*proposal]bool, len(own))
	for _, p := range own {
		mine[p] = true
	}
	rest := b.queue[:0]
	for _, p := range b.queue {
		if mine[p] && kept[p] || !mine[p] && !takeOne(p) {
			rest = append(rest, p)
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

// requestKey is a request id as its caller owns it.
type requestKey struct {
	actor ledger.Actor
	id    string
}

// place picks p's balance rows for a batch of lane, among those no other
// lane has, or reports that p must wait. ids are the request ids the batch
// serves.
func (b *batcher) place(p *proposal, lane int, ids map[requestKey]bool) bool {
	key := requestKey{p.rq.actor, p.rq.id}
	if ids[key] {
		return false
	}
	picked := make([]int, len(p.legs))
	for i, l := range p.legs {
		k, ok := b.pickRow(l.Posting.AccountID, lane)
		if !ok {
			return false
		}
		picked[i] = k.shard
	}
	ids[key] = true
	for i := range p.legs {
		p.legs[i].Shard = picked[i]
	}
	return true
}

// pickRow picks a row of account that no other lane has: its only row, or
// for a sharded account one of lane's shards (shards s with s % lanes ==
// lane, or shard lane % n when there are fewer shards than lanes), from a
// random start.
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
		if owner, busy := b.busy[k]; !busy || owner == lane {
			return k, true
		}
	}
	return rowKey{}, false
}

// run posts batch's entries and tells their callers.
func (b *batcher) run(batch []*proposal) {
	defer func() {
		// A lane may run on a goroutine of its own, where a panic would
		// take the server down: its callers get an internal error instead.
		if r := recover(); r != nil {
			b.s.opt.Logger.Error("panic in a batch of entries", "panic", r, "stack", string(debug.Stack()))
			for _, p := range batch {
				p.out, p.err, p.alone = ledger.Entry{}, ledger.Errorf(ledger.CodeInternal, "internal error"), false
			}
		}
		for _, p := range batch {
			if p.alone {
				b.alone.Add(1)
			}
			close(p.done)
		}
	}()
	if len(batch) == 1 {
		p := batch[0]
		p.out, p.err = b.s.postAlone(p.ctx, p)
		b.alone.Add(1)
		return
	}
	ctx, cancel := batchContext(batch)
	defer cancel()
	if err := b.s.postBatch(ctx, batch); errors.Is(err, ErrCommitUnknown) {
		// The batch may have committed: posting its entries again could
		// only find that out, and its callers learn it by a replay instead.
		for _, p := range batch {
			p.err = b.s.translate(err)
		}
		return
	} else if err != nil {
		b.s.opt.Logger.Log(ctx, slogLevelFor(err), "batch of entries failed: posting them one by one",
			"entries", len(batch), "err", err)
		for _, p := range batch {
			p.alone = true
		}
		return
	}
	b.batches.Add(1)
	for _, p := range batch {
		if !p.posted {
			p.alone = true // posted again alone, which answers the refusal (or finds a replay)
			continue
		}
		b.batched.Add(1)
		p.out = p.e
	}
}

// batchContext is the context a batch runs in: its first entry's values
// (the fault hooks of the tests read them), not cancelled with any one
// caller, and ending at the latest of its callers' deadlines if they all
// have one.
func batchContext(batch []*proposal) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, p := range batch {
		d, ok := p.ctx.Deadline()
		if !ok {
			return context.WithoutCancel(batch[0].ctx), func() {}
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(context.WithoutCancel(batch[0].ctx), latest)
}

// postBatch posts the entries of batch that the ledger's rules allow, in
// one transaction of one round trip: BEGIN, sqlPost, COMMIT. It is retried
// as a whole on serialization failures, batchRetries times; any other
// failure (a unique violation: a request id already used) is returned, and
// the caller posts the batch's entries one by one.
func (s *Store) postBatch(ctx context.Context, batch []*proposal) error {
	err := s.retryTx(ctx, batchRetries, func(err error) error { return err }, func(t *txn) error {
		now := s.now()
		for _, p := range batch {
			p.begin(now)
		}
		b := &pgx.Batch{}
		if onPostgres(t.conn) {
			b.Queue(sqlGenericPlan)
		}
		if err := queuePost(b, batch, now, false); err != nil {
			return err
		}
		return t.commit(ctx, b)
	})
	if err == nil {
		s.verdicts(batch, false)
	}
	return err
}

// onPostgres reports whether conn is to PostgreSQL rather than CockroachDB,
// which announces its version when a session starts.
func onPostgres(conn *pgx.Conn) bool { return conn.PgConn().ParameterStatus("crdb_version") == "" }

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
