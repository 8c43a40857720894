package cockroach_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is a migrated store on a fresh database.
type fixture struct {
	*cockroach.Store
	pool  *pgxpool.Pool
	url   string // the owner's
	clock *clock
	seq   atomic.Int64
}

// clock is a test clock that starts at the real time and moves only when told.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// MustOpenStore returns a store on a fresh database; opt.Now is set to a
// test clock unless given.
func MustOpenStore(tb testing.TB, opt cockroach.Options) *fixture {
	tb.Helper()
	url := pgtest.NewDatabase(tb)
	pool := mustPool(tb, url)
	if err := cockroach.Migrate(context.Background(), pool); err != nil {
		tb.Fatal(err)
	}
	return newFixture(tb, url, pool, opt)
}

// mustPool opens a pool on url, closed when the test ends.
func mustPool(tb testing.TB, url string) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// newFixture is MustOpenStore's store on pool, already migrated.
func newFixture(tb testing.TB, url string, pool *pgxpool.Pool, opt cockroach.Options) *fixture {
	f := &fixture{pool: pool, url: url, clock: &clock{}}
	f.clock.ns.Store(time.Now().UnixNano())
	if opt.Now == nil {
		opt.Now = f.clock.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.OnRuleDisagreement == nil {
		opt.OnRuleDisagreement = func(entry string, posted bool, rule error) {
			tb.Errorf("the posting statement and the ledger's rules disagree on entry %s: posted %v, rules say %v",
				entry, posted, rule)
		}
	}
	f.Store = cockroach.New(pool, opt)
	return f
}

// MustOpenRolePool opens a pool on the fixture's database that logs in as
// role, closed when the test ends.
func (f *fixture) MustOpenRolePool(tb testing.TB, role string) *pgxpool.Pool {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(f.url)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.ConnConfig.User, cfg.ConnConfig.Password = role, ""
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// rid returns a fresh request id.
func (f *fixture) rid() string { return fmt.Sprintf("req-%d", f.seq.Add(1)) }

// MustOpen opens a customer account in KRW holding balance won.
func (f *fixture) MustOpen(tb testing.TB, id string, balance int64) {
	tb.Helper()
	f.MustOpenFor(tb, id, "cust-"+id, balance)
}

// MustOpenFor opens customer's account in KRW holding balance won.
func (f *fixture) MustOpenFor(tb testing.TB, id, customer string, balance int64) {
	tb.Helper()
	ctx := context.Background()
	if _, err := f.OpenAccount(ctx, ledger.OpenAccountRequest{
		RequestID: f.rid(), AccountID: id, CustomerID: customer, Currency: "KRW", Kind: ledger.KindCustomer,
	}); err != nil {
		tb.Fatal(err)
	}
	if balance > 0 {
		if _, err := f.Deposit(ctx, ledger.DepositRequest{RequestID: f.rid(), AccountID: id, Amount: balance, Currency: "KRW"}); err != nil {
			tb.Fatal(err)
		}
	}
}

// MustBalance returns an account's balance.
func (f *fixture) MustBalance(tb testing.TB, id string) ledger.Balance {
	tb.Helper()
	b, err := f.GetBalance(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// AssertCode fails unless err carries the ledger code want.
func AssertCode(tb testing.TB, err error, want ledger.Code) {
	tb.Helper()
	if got := ledger.ErrorCode(err); got != want {
		tb.Fatalf("error = %v (code %q), want code %q", err, got, want)
	}
}

// AssertBooksBalance checks the whole database: every entry's postings sum
// to zero, each currency's balances sum to zero, every account's balance
// rows equal the sum of its postings, and no customer is below zero.
func (f *fixture) AssertBooksBalance(tb testing.TB) {
	tb.Helper()
	AssertBooksBalance(tb, f.pool)
}

// AssertBooksBalance is the pool form of fixture.AssertBooksBalance: every
// rule of cockroach.BookChecks, on one snapshot.
func AssertBooksBalance(tb testing.TB, pool *pgxpool.Pool) {
	tb.Helper()
	ctx := context.Background()
	snapshot := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err := pgx.BeginTxFunc(ctx, pool, snapshot, func(tx pgx.Tx) error {
		broken, err := cockroach.CheckBooks(ctx, tx)
		for _, b := range broken {
			tb.Errorf("%d %s", b.Count, b.What)
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
}
