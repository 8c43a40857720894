package cockroach_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// BenchmarkSubscribe measures subscriptions per second at high concurrency
// (32 goroutines on 32 connections), with the quota spread over 64 shard
// rows and, for comparison, kept in one counter row. Each subscription is a
// new customer's. Run: go test -run '^$' -bench Subscribe ./ledger/cockroach
func BenchmarkSubscribe(b *testing.B) {
	for _, shards := range []int{64, 1} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			f := openBenchStore(b, cockroach.Options{PromoShards: shards})
			const customers = 60_000
			mustSeedCustomers(b, f, customers)
			f.MustCreatePromo(b, "bench", ledger.MaxAmount, 10_000)
			var next, retries, failed atomic.Int64
			perm := rand.Perm(customers) // arrivals in no particular order of customer id
			f.Store = cockroach.New(f.pool, cockroach.Options{PromoShards: shards, Now: f.clock.Now,
				OnRetry: func(int, error) { retries.Add(1) }})
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := perm[next.Add(1)%customers]
					_, err := f.Subscribe(context.Background(), ledger.SubscribeRequest{
						RequestID: uuid.NewString(), PromoID: "bench",
						CustomerID: fmt.Sprintf("bc%d", i), FromAccount: fmt.Sprintf("ba%d", i), Amount: 1_000,
					})
					switch ledger.ErrorCode(err) {
					case "", ledger.CodePromoAlreadySubscribed:
					case ledger.CodeUnavailable: // retries exhausted: counted, as a client would see it
						failed.Add(1)
					default:
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N-int(failed.Load()))/b.Elapsed().Seconds(), "subscriptions/s")
			b.ReportMetric(float64(retries.Load())/float64(b.N), "retries/op")
			b.ReportMetric(float64(failed.Load())/float64(b.N), "failed/op")
		})
	}
}

// BenchmarkSubscribeSoldOut measures refusals of a sold-out promo, which
// are answered from memory.
func BenchmarkSubscribeSoldOut(b *testing.B) {
	f := openBenchStore(b, cockroach.Options{})
	f.MustOpenFor(b, "a1", "c1", 10_000)
	f.MustCreatePromo(b, "gone", 1_000, 1_000)
	ctx := context.Background()
	if _, err := f.Subscribe(ctx, ledger.SubscribeRequest{RequestID: "s1", PromoID: "gone", CustomerID: "c1", FromAccount: "a1", Amount: 1_000}); err != nil {
		b.Fatal(err)
	}
	if _, err := f.GetPromo(ctx, "gone"); err != nil { // learns it is sold out
		b.Fatal(err)
	}
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, err := f.Subscribe(ctx, ledger.SubscribeRequest{RequestID: "late", PromoID: "gone", CustomerID: "c2", FromAccount: "a2", Amount: 1})
			if ledger.ErrorCode(err) != ledger.CodePromoSoldOut {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "answers/s")
}

// openBenchStore is MustOpenStore with a pool of 32 connections.
func openBenchStore(b *testing.B, opt cockroach.Options) *fixture {
	b.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = 32
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	if err := cockroach.Migrate(ctx, pool); err != nil {
		b.Fatal(err)
	}
	f := &fixture{pool: pool, clock: &clock{}}
	f.clock.ns.Store(time.Now().UnixNano())
	opt.Now = f.clock.Now
	f.Store = cockroach.New(pool, opt)
	return f
}

// mustSeedCustomers writes n funded customer accounts straight into the
// tables: setup data for a benchmark, not a path under test (their money
// comes from nowhere, so the books of this database do not balance).
func mustSeedCustomers(b *testing.B, f *fixture, n int) {
	b.Helper()
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO accounts (account_id, customer_id, currency, kind, status, shards, created_at)
			SELECT 'ba' || s, 'bc' || s, 'KRW', 'CUSTOMER', 'ACTIVE', 1, now() FROM generate_series(0, $1 - 1) AS s`,
		`INSERT INTO balances (account_id, shard, posted) SELECT 'ba' || s, 0, 1000000 FROM generate_series(0, $1 - 1) AS s`,
	} {
		if _, err := f.pool.Exec(ctx, q, n); err != nil {
			b.Fatal(err)
		}
	}
}
