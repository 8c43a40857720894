package cockroach_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// gate makes batches on purpose. The store gets one lane; a transfer sent
// with gateKey in its context holds it, stopped just before its COMMIT,
// until the test opens the gate. The moves sent meanwhile queue up, and the
// lane then takes them all as one batch.
type gate struct {
	held, open chan struct{}
	done       chan error // the gate's transfer's outcome
}

type gateKey struct{}

// mustOpenGatedStore is MustOpenStore with one lane and a gate; before, if
// set, runs before every other commit.
func mustOpenGatedStore(tb testing.TB, opt cockroach.Options, before func(context.Context, int) error) (*fixture, *gate) {
	g := &gate{held: make(chan struct{}), open: make(chan struct{}), done: make(chan error, 1)}
	opt.MoveLanes = 1
	opt.BeforeCommit = func(ctx context.Context, attempt int) error {
		if ctx.Value(gateKey{}) != nil {
			close(g.held)
			<-g.open
			return nil
		}
		if before != nil {
			return before(ctx, attempt)
		}
		return nil
	}
	f := MustOpenStore(tb, opt)
	f.MustOpen(tb, "gate-from", 1_000)
	f.MustOpen(tb, "gate-to", 0)
	return f, g
}

// hold sends the gate's transfer and returns once it holds the lane.
func (g *gate) hold(tb testing.TB, f *fixture) {
	tb.Helper()
	go func() {
		_, err := f.Transfer(context.WithValue(context.Background(), gateKey{}, true), ledger.TransferRequest{
			RequestID: "gate", From: "gate-from", To: "gate-to", Amount: 1, Currency: "KRW"})
		g.done <- err
	}()
	select {
	case <-g.held:
	case <-time.After(10 * time.Second):
		tb.Fatal("the gate's transfer never reached its commit")
	}
}

// release waits until n moves are queued behind the gate, then opens it.
func (g *gate) release(tb testing.TB, f *fixture, n int) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.QueuedMoves() < n {
		if time.Now().After(deadline) {
			tb.Fatalf("%d moves queued behind the gate, want %d", f.QueuedMoves(), n)
		}
		time.Sleep(time.Millisecond)
	}
	close(g.open)
}

// passed fails the test unless the gate's transfer, once released, was made.
func (g *gate) passed(tb testing.TB) {
	tb.Helper()
	if err := <-g.done; err != nil {
		tb.Fatalf("gate transfer: %v", err)
	}
}

// TestBatchCommitsTogether queues transfers, a deposit, a refused transfer
// and a withdrawal at an ATM whose cash account does not exist yet behind
// the gate, so that they reach the database as one batch. The batch makes
// the moves the rules allow in one transaction; the refused one gets its
// reason, and the withdrawal, which the batch cannot make, is moved by
// itself after its ATM's account is opened.
func TestBatchCommitsTogether(t *testing.T) {
	ctx := context.Background()
	f, g := mustOpenGatedStore(t, cockroach.Options{}, nil)
	const pairs = 12
	for i := range pairs {
		f.MustOpen(t, fmt.Sprintf("p%d", i), 1_000)
		f.MustOpen(t, fmt.Sprintf("q%d", i), 0)
	}
	f.MustOpen(t, "poor", 10)
	f.MustOpen(t, "saver", 0)
	f.MustOpen(t, "walker", 5_000)
	f.MustOpen(t, "dep", 0)

	g.hold(t, f)
	type result struct {
		e   ledger.Entry
		err error
	}
	results := make(map[string]*result)
	var wg sync.WaitGroup
	send := func(name string, fn func() (ledger.Entry, error)) {
		r := &result{}
		results[name] = r
		wg.Go(func() { r.e, r.err = fn() })
	}
	for i := range pairs {
		send(fmt.Sprintf("t%d", i), func() (ledger.Entry, error) {
			return f.Transfer(ctx, ledger.TransferRequest{RequestID: fmt.Sprintf("t%d", i),
				From: fmt.Sprintf("p%d", i), To: fmt.Sprintf("q%d", i), Amount: 100 + int64(i), Currency: "KRW"})
		})
	}
	send("overdraft", func() (ledger.Entry, error) {
		return f.Transfer(ctx, ledger.TransferRequest{RequestID: "overdraft", From: "poor", To: "saver", Amount: 11, Currency: "KRW"})
	})
	send("deposit", func() (ledger.Entry, error) {
		return f.Deposit(ctx, ledger.DepositRequest{RequestID: "deposit", AccountID: "dep", Amount: 700, Currency: "KRW"})
	})
	send("withdrawal", func() (ledger.Entry, error) {
		return f.Withdraw(ctx, ledger.WithdrawRequest{RequestID: "withdrawal", AccountID: "walker", Amount: 2_000,
			Currency: "KRW", ATMID: "atm-new"})
	})
	g.release(t, f, pairs+3)
	wg.Wait()
	g.passed(t)

	for name, r := range results {
		if name == "overdraft" {
			AssertCode(t, r.err, ledger.CodeInsufficientFunds)
			continue
		}
		if r.err != nil {
			t.Fatalf("%s: %v", name, r.err)
		}
		var n int
		if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM entries WHERE entry_id = $1 AND request_id = $2`,
			r.e.ID, name).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s: its entry %s is in the books %d times (%v)", name, r.e.ID, n, err)
		}
	}
	for i := range pairs {
		if b := f.MustBalance(t, fmt.Sprintf("q%d", i)); b.Posted != 100+int64(i) {
			t.Errorf("q%d = %d, want %d", i, b.Posted, 100+i)
		}
	}
	for id, want := range map[string]int64{"poor": 10, "saver": 0, "dep": 700, "walker": 3_000} {
		if b := f.MustBalance(t, id); b.Posted != want {
			t.Errorf("%s = %d, want %d", id, b.Posted, want)
		}
	}
	// The gate's transfer went alone; the queue went as one batch that made
	// the transfers and the deposit; the overdraft and the withdrawal were
	// moved again by themselves.
	st := f.MoveStats()
	if st.Batches != 1 || st.Batched != pairs+1 {
		t.Errorf("move stats %+v: want one batch that made %d moves", st, pairs+1)
	}
	var postedAt int
	if err := f.pool.QueryRow(ctx, `SELECT count(DISTINCT posted_at) FROM entries WHERE request_id LIKE 't%'`).Scan(&postedAt); err != nil || postedAt != 1 {
		t.Errorf("the batch's transfers were posted at %d instants, want 1 (%v)", postedAt, err)
	}
	f.AssertBooksBalance(t)

	// The auditors' journal seals the batch's entries like any others, in
	// an order a verifier can recompute, and each once.
	head := f.MustSealAll(t, f.MustSealer(t, cockroach.SealerOptions{Holder: "batch-test"}))
	entries := f.mustCount(t, `SELECT count(*) FROM entries`)
	if v := f.MustVerify(t, ledger.JournalRange{}); !v.OK || v.Checked != int64(entries) || v.Checkpoint.Sequence != head.Sequence || !bytes.Equal(v.Checkpoint.Hash, head.Hash) {
		t.Errorf("verification = %+v, want %d records up to %+v", v, entries, head)
	}
}

// TestBatchCommitTimeSerializationFailure makes a batch's first COMMIT fail
// with SQLSTATE 40001, as TestCommitTimeSerializationFailure does for single
// moves: just before it, another transaction reads a balance the batch
// changes and rewrites an account row the batch read. The batch must be
// retried as a whole, and each of its moves be in the books exactly once.
func TestBatchCommitTimeSerializationFailure(t *testing.T) {
	ctx := context.Background()
	var commitFailures atomic.Int64
	var provoked atomic.Bool
	var f *fixture
	f, g := mustOpenGatedStore(t, cockroach.Options{
		OnRetry: func(_ int, err error) {
			var pg *pgconn.PgError
			if errors.Is(err, cockroach.ErrCommit) && errors.As(err, &pg) && pg.Code == pgerrcode.SerializationFailure {
				commitFailures.Add(1)
			}
		},
	}, func(ctx context.Context, _ int) error {
		from, ok := ctx.Value(fromKey{}).(string)
		if !ok || provoked.Swap(true) {
			return nil
		}
		return f.provokeCommitConflict(ctx, from)
	})
	const n = 10
	for i := range n {
		f.MustOpen(t, fmt.Sprintf("a%d", i), 1_000)
		f.MustOpen(t, fmt.Sprintf("b%d", i), 0)
	}
	commitFailures.Store(0)

	g.hold(t, f)
	acked := make([]ledger.Entry, n)
	var wg sync.WaitGroup
	for i := range n {
		from := fmt.Sprintf("a%d", i)
		wg.Go(func() {
			e, err := f.Transfer(context.WithValue(ctx, fromKey{}, from), ledger.TransferRequest{
				RequestID: "t-" + from, From: from, To: fmt.Sprintf("b%d", i), Amount: 100 + int64(i), Currency: "KRW"})
			if err != nil {
				t.Errorf("transfer from %s: %v", from, err)
			}
			acked[i] = e
		})
	}
	g.release(t, f, n)
	wg.Wait()
	g.passed(t)
	if got := commitFailures.Load(); got < 1 {
		t.Fatalf("saw %d commit-time serialization failures: the test did not provoke one", got)
	}
	if st := f.MoveStats(); st.Batches != 1 || st.Batched != n {
		t.Errorf("move stats %+v: want the retried batch to make all %d moves", st, n)
	}
	for i, e := range acked {
		var count int
		if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM entries WHERE entry_id = $1 AND request_id = $2`,
			e.ID, fmt.Sprintf("t-a%d", i)).Scan(&count); err != nil || count != 1 {
			t.Errorf("acknowledged entry %q of transfer %d found %d times (%v)", e.ID, i, count, err)
		}
		if b := f.MustBalance(t, fmt.Sprintf("b%d", i)); b.Posted != 100+int64(i) {
			t.Errorf("b%d = %d, want %d", i, b.Posted, 100+i)
		}
	}
	f.AssertBooksBalance(t)
	t.Logf("%d commit-time serialization failures, batch retried", commitFailures.Load())
}

// TestBatchWithUsedRequestID queues, in one batch, a replay of a transfer
// already made, a reuse of its request id with other content, twin copies
// of a new request, and fresh transfers. The replay's request id fails the
// batch's insert; its moves are then moved one by one, and each gets the
// answer it would have had alone: the replay the original entry, the
// reuse IDEMPOTENCY_CONFLICT, the twins one entry between them.
func TestBatchWithUsedRequestID(t *testing.T) {
	ctx := context.Background()
	f, g := mustOpenGatedStore(t, cockroach.Options{}, nil)
	const fresh = 6
	for i := range fresh {
		f.MustOpen(t, fmt.Sprintf("p%d", i), 1_000)
	}
	f.MustOpen(t, "x", 1_000)
	f.MustOpen(t, "y", 0)
	first := ledger.TransferRequest{RequestID: "used", From: "x", To: "y", Amount: 300, Currency: "KRW"}
	original, err := f.Transfer(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	twin := ledger.TransferRequest{RequestID: "twin", From: "x", To: "y", Amount: 50, Currency: "KRW"}

	g.hold(t, f)
	var wg sync.WaitGroup
	var replay, conflict, twinA, twinB ledger.Entry
	var replayErr, conflictErr, twinAErr, twinBErr error
	wg.Go(func() { replay, replayErr = f.Transfer(ctx, first) })
	wg.Go(func() {
		other := first
		other.Amount = 301
		conflict, conflictErr = f.Transfer(ctx, other)
	})
	wg.Go(func() { twinA, twinAErr = f.Transfer(ctx, twin) })
	wg.Go(func() { twinB, twinBErr = f.Transfer(ctx, twin) })
	for i := range fresh {
		wg.Go(func() {
			if _, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: fmt.Sprintf("fresh-%d", i),
				From: fmt.Sprintf("p%d", i), To: "y", Amount: 10, Currency: "KRW"}); err != nil {
				t.Errorf("fresh-%d: %v", i, err)
			}
		})
	}
	g.release(t, f, fresh+4)
	wg.Wait()
	g.passed(t)

	if replayErr != nil || replay.ID != original.ID || !replay.PostedAt.Equal(original.PostedAt) {
		t.Errorf("replay = %+v, %v; want the original entry %s", replay, replayErr, original.ID)
	}
	AssertCode(t, conflictErr, ledger.CodeIdempotencyConflict)
	if conflict.ID != "" {
		t.Errorf("the conflicting reuse returned entry %s", conflict.ID)
	}
	if twinAErr != nil || twinBErr != nil || twinA.ID == "" || twinA.ID != twinB.ID {
		t.Errorf("twins = %s (%v) and %s (%v), want one entry", twinA.ID, twinAErr, twinB.ID, twinBErr)
	}
	if b := f.MustBalance(t, "y"); b.Posted != 300+50+fresh*10 {
		t.Errorf("y = %d, want %d", b.Posted, 300+50+fresh*10)
	}
	if st := f.MoveStats(); st.Alone < fresh+4 {
		t.Errorf("move stats %+v: want the failed batch's %d moves moved one by one", st, fresh+4)
	}
	f.AssertBooksBalance(t)
}
