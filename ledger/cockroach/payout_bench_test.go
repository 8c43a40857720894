package cockroach_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// benchPayouts is how many matured subscriptions BenchmarkPayout pays: a
// sold-out promo's whole wave.
const benchPayouts = 100_000

// BenchmarkPayout pays 100,000 subscriptions that all matured at once, as
// a ledgerd's payer does (one transaction at a time, at its default batch
// of 250 and at 1000), on
// a real PostgreSQL. Each iteration starts from a fresh database, seeded in
// bulk with what 100,000 Subscribe calls leave behind: the promo, each
// customer's account and promo deposit account holding the principal, and
// the subscriptions. Run with -benchtime 1x; the time per op is the whole
// wave's.
func BenchmarkPayout(b *testing.B) {
	for _, batch := range []int{250, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchmarkPayout(b, batch) })
	}
}

func benchmarkPayout(b *testing.B, batch int) {
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		f := MustOpenStore(b, cockroach.Options{})
		seedPayouts(b, f, benchPayouts)
		payer := cockroach.NewPayer(f.Store, cockroach.PayerOptions{Batch: batch})
		b.StartTimer()
		paid := 0
		for paid < benchPayouts {
			res, err := payer.PayOnce(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if res.Paid == 0 {
				b.Fatalf("paid %d of %d, then nothing", paid, benchPayouts)
			}
			paid += res.Paid
		}
		b.StopTimer()
		want := benchPayouts * ledger.PayoutFor(1_000_000_000, 500, 1540, time.Minute).Tax
		if got := f.MustBalance(b, ledger.TaxPayableAccountID("KRW")).Posted; got != want {
			b.Fatalf("tax withheld %d, want %d", got, want)
		}
	}
	b.ReportMetric(float64(benchPayouts*b.N)/b.Elapsed().Seconds(), "payouts/s")
}

// seedPayouts writes, in bulk, n subscriptions of 10^9 KRW to a promo of a
// one-minute term that matured a minute ago.
func seedPayouts(tb testing.TB, f *fixture, n int) {
	tb.Helper()
	ctx := context.Background()
	then := f.clock.Now().Add(-2 * time.Minute)
	for i, sql := range []string{
		`INSERT INTO promos (promo_id, currency, total_quota, max_per_customer, annual_rate_bps, opens_at, closes_at,
			shards, created_at, term_us, early_rate_bps, withholding_bps)
			VALUES ('wave', 'KRW', 1000000000000000, 1000000000, 500, $1, CAST($1 AS TIMESTAMPTZ) + INTERVAL '1 hour', 1, $1, 60000000, 100, 1540)`,
		`INSERT INTO accounts (account_id, customer_id, currency, kind, status, shards, created_at)
			SELECT 'acct-' || i, 'cust-' || i, 'KRW', 'CUSTOMER', 'ACTIVE', 1, $1 FROM generate_series(1, $2) AS i`,
		`INSERT INTO accounts (account_id, customer_id, currency, kind, status, shards, created_at)
			SELECT 'sys:promo:' || i, 'cust-' || i, 'KRW', 'CUSTOMER', 'ACTIVE', 1, $1 FROM generate_series(1, $2) AS i`,
		`INSERT INTO balances (account_id, shard, posted)
			SELECT 'acct-' || i, 0, 0 FROM generate_series(1, $1) AS i
			UNION ALL SELECT 'sys:promo:' || i, 0, 1000000000 FROM generate_series(1, $1) AS i`,
		`INSERT INTO subscriptions (promo_id, customer_id, account_id, amount, entry_id, request_id, created_at,
				from_account_id, matures_at, due_at)
			SELECT 'wave', 'cust-' || i, 'sys:promo:' || i, 1000000000, gen_random_uuid(), 'sub-' || i, $1,
				'acct-' || i, CAST($1 AS TIMESTAMPTZ) + INTERVAL '1 minute', CAST($1 AS TIMESTAMPTZ) + INTERVAL '1 minute' FROM generate_series(1, $2) AS i`,
		`ANALYZE`,
	} {
		args := []any{then, n}
		switch i {
		case 0:
			args = args[:1]
		case 3:
			args = args[1:]
		case 5:
			args = nil
		}
		if _, err := f.pool.Exec(ctx, sql, args...); err != nil {
			tb.Fatalf("%v\n%s", err, sql)
		}
	}
}
