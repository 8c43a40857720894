package cockroach_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// roundTrips counts what a pool is asked for: connections acquired,
// statements and batches sent.
type roundTrips struct{ acquires, queries, batches atomic.Int64 }

func (r *roundTrips) total() int64 { return r.acquires.Load() + r.queries.Load() + r.batches.Load() }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.queries.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.batches.Add(1)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
func (r *roundTrips) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	r.acquires.Add(1)
	return ctx
}
func (r *roundTrips) TraceAcquireEnd(context.Context, *pgxpool.Pool, pgxpool.TraceAcquireEndData) {}

// mustCountingStore is MustOpenStore on a pool that counts its round trips.
func mustCountingStore(tb testing.TB) (*fixture, *roundTrips) {
	tb.Helper()
	url := pgtest.NewDatabase(tb)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		tb.Fatal(err)
	}
	rt := &roundTrips{}
	cfg.ConnConfig.Tracer = rt
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if err := cockroach.Migrate(context.Background(), pool); err != nil {
		tb.Fatal(err)
	}
	return newFixture(tb, url, pool, cockroach.Options{}), rt
}

// TestPromoRefusalsFromMemory proves that a customer who subscribed is
// answered PROMO_ALREADY_SUBSCRIBED, and everyone PROMO_SOLD_OUT once the
// promo sold out, without a single connection or statement; that a replay
// of a subscription still gets its result; and that KnownAnswer, which a
// server asks before it spends a worker slot, gives the same answers.
func TestPromoRefusalsFromMemory(t *testing.T) {
	ctx := context.Background()
	f, rt := mustCountingStore(t)
	const customers = 6
	for i := range customers {
		f.MustOpenFor(t, fmt.Sprintf("acct-%d", i), fmt.Sprintf("cust-%d", i), 10_000)
	}
	f.MustCreatePromo(t, "p", 3_000, 1_000)
	sub := func(i int, rid string) ledger.SubscribeRequest {
		return ledger.SubscribeRequest{RequestID: rid, PromoID: "p", CustomerID: fmt.Sprintf("cust-%d", i),
			FromAccount: fmt.Sprintf("acct-%d", i), Amount: 1_000}
	}
	// noRoundTrip runs call and fails if it touched the database.
	noRoundTrip := func(t *testing.T, call func() error) error {
		t.Helper()
		before := rt.total()
		err := call()
		if n := rt.total() - before; n != 0 {
			t.Errorf("%d round trips (acquires %d, queries %d, batches %d so far), want none",
				n, rt.acquires.Load(), rt.queries.Load(), rt.batches.Load())
		}
		return err
	}

	first := sub(0, "first")
	if _, err := f.Subscribe(ctx, first); err != nil {
		t.Fatal(err)
	}
	t.Run("AlreadySubscribed", func(t *testing.T) {
		again := sub(0, "second")
		AssertCode(t, noRoundTrip(t, func() error { return f.KnownAnswer(ctx, again) }), ledger.CodePromoAlreadySubscribed)
		AssertCode(t, noRoundTrip(t, func() error { _, err := f.Subscribe(ctx, again); return err }),
			ledger.CodePromoAlreadySubscribed)
	})
	t.Run("ReplayGoesToTheDatabase", func(t *testing.T) {
		if err := noRoundTrip(t, func() error { return f.KnownAnswer(ctx, first) }); err != nil {
			t.Fatalf("KnownAnswer of a replay = %v, want nil", err)
		}
		before := rt.total()
		got, err := f.Subscribe(ctx, first)
		if err != nil || got.Amount != 1_000 || got.CustomerID != "cust-0" {
			t.Fatalf("replay = %+v, %v; want the subscription", got, err)
		}
		if rt.total() == before {
			t.Fatal("a replay was answered without the database")
		}
	})
	t.Run("UnknownIsLeftToSubscribe", func(t *testing.T) {
		if err := noRoundTrip(t, func() error { return f.KnownAnswer(ctx, sub(1, "new")) }); err != nil {
			t.Fatalf("KnownAnswer of a new customer = %v, want nil", err)
		}
		other := sub(1, "new")
		other.PromoID = "never-loaded"
		if err := noRoundTrip(t, func() error { return f.KnownAnswer(ctx, other) }); err != nil {
			t.Fatalf("KnownAnswer of an unknown promo = %v, want nil", err)
		}
	})

	// Sell out: two more customers take what remains; the next is refused
	// by the database, which teaches the store that the promo is sold out.
	for i := 1; i <= 2; i++ {
		if _, err := f.Subscribe(ctx, sub(i, fmt.Sprintf("s-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	_, err := f.Subscribe(ctx, sub(3, "s-3"))
	AssertCode(t, err, ledger.CodePromoSoldOut)

	t.Run("SoldOutStampede", func(t *testing.T) {
		const calls = 1_000
		soldOut := 0
		for n := range calls {
			i := 3 + n%(customers-3)
			err := noRoundTrip(t, func() error { _, err := f.Subscribe(ctx, sub(i, fmt.Sprintf("late-%d", n))); return err })
			if ledger.ErrorCode(err) == ledger.CodePromoSoldOut {
				soldOut++
			}
		}
		if soldOut != calls {
			t.Fatalf("%d of %d calls answered PROMO_SOLD_OUT, want all", soldOut, calls)
		}
		AssertCode(t, noRoundTrip(t, func() error { return f.KnownAnswer(ctx, sub(4, "late")) }), ledger.CodePromoSoldOut)
	})
	t.Run("SoldOutWinsForASubscriber", func(t *testing.T) {
		AssertCode(t, noRoundTrip(t, func() error { return f.KnownAnswer(ctx, sub(0, "third")) }), ledger.CodePromoSoldOut)
	})
}
