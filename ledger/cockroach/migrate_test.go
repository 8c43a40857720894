package cockroach_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// TestConcurrentMigrate starts several ledgers' migrations on one fresh
// database at the same instant, as a rolling deploy does: every one must
// succeed, and the schema must come out whole.
func TestConcurrentMigrate(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	const n = 4
	pools := make([]*pgxpool.Pool, n)
	for i := range pools {
		pools[i] = mustPool(t, url)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, p := range pools {
		wg.Go(func() {
			<-start
			if err := cockroach.Migrate(ctx, p); err != nil {
				t.Errorf("migration %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	var applied, distinct int64
	if err := pools[0].QueryRow(ctx, `SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if want := cockroach.MigrationCount(t); applied != want || distinct != want {
		t.Errorf("%d migrations recorded (%d versions), want each of the %d once: some ran twice or not at all", applied, distinct, want)
	}
	// The store works on the result.
	s := cockroach.New(pools[0], cockroach.Options{})
	if _, err := s.GetBalance(ctx, "nobody"); err == nil {
		t.Error("balance of a missing account: no error")
	}
}

// TestMigratePostingsByAccount writes a transfer and an account opening
// the way a ledger before migration 7 did, migrates, and checks that the
// entries list their postings' accounts, so that the sealer, the auditors'
// reads and the statement all still find every posting.
func TestMigratePostingsByAccount(t *testing.T) {
	ctx := context.Background()
	url, pool := mustSchemaAt(t, 6)
	const opening, deposit = "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"
	for _, sql := range []string{
		`INSERT INTO accounts (account_id, customer_id, currency, kind, status, shards, created_at) VALUES
			('vault', 'bank', 'KRW', 'INTERNAL', 'ACTIVE', 1, now()), ('alice', 'c1', 'KRW', 'CUSTOMER', 'ACTIVE', 1, now())`,
		`INSERT INTO balances (account_id, shard, posted) VALUES ('vault', 0, -700), ('alice', 0, 700)`,
		`INSERT INTO entries (entry_id, kind, actor, request_id, memo, posted_at) VALUES
			('` + opening + `', 'ACCOUNT_OPENING', 'system', 'o1', '', TIMESTAMPTZ '2026-01-02 03:04:05Z'),
			('` + deposit + `', 'DEPOSIT', 'system', 'd1', 'cash', TIMESTAMPTZ '2026-01-02 03:04:06Z')`,
		`INSERT INTO postings (entry_id, account_id, currency, amount, balance_after, posted_at)
			SELECT '` + deposit + `', a, 'KRW', n, n, TIMESTAMPTZ '2026-01-02 03:04:06Z'
			FROM (VALUES ('vault', -700), ('alice', 700)) AS v (a, n)`,
		`INSERT INTO journal_pending (entry_id, posted_at) SELECT entry_id, posted_at FROM entries`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if err := cockroach.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{opening: "{}", deposit: "{alice,vault}"} {
		var got string
		if err := pool.QueryRow(ctx, `SELECT CAST(accounts AS TEXT) FROM entries WHERE entry_id = $1`, id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("entry %s lists accounts %s, want %s", id, got, want)
		}
	}

	f := newFixture(t, url, pool, cockroach.Options{})
	if head := f.MustSealAll(t, f.MustSealer(t, cockroach.SealerOptions{})); head.Sequence != 2 {
		t.Fatalf("sealed up to %d, want 2", head.Sequence)
	}
	records, err := f.ListJournal(ctx, ledger.JournalQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 2 || len(records[0].Entry.Postings) != 0 || len(records[1].Entry.Postings) != 2 {
		t.Fatalf("journal after the migration: %+v, want the opening without postings and the deposit with two", records)
	}
	if v := f.MustVerify(t, ledger.JournalRange{}); !v.OK || v.Checked != 2 {
		t.Errorf("verification = %+v", v)
	}
	page, err := f.ListEntries(ctx, ledger.StatementQuery{AccountID: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Lines) != 1 || page.Lines[0].EntryID != deposit || page.Lines[0].Amount != 700 {
		t.Errorf("alice's statement = %+v, want the deposit of 700", page.Lines)
	}
	f.AssertBooksBalance(t)
}

// TestMigrateHoldsByAccount places holds on a version-7 schema, whose
// index held only the active ones, then migrates: the holds still count
// against the balance, and can be captured and voided.
func TestMigrateHoldsByAccount(t *testing.T) {
	ctx := context.Background()
	url, pool := mustSchemaAt(t, 7)
	f := newFixture(t, url, pool, cockroach.Options{})
	f.MustOpen(t, "alice", 10_000)
	var holds []ledger.Hold
	for _, amount := range []int64{3_000, 2_000} {
		h, err := f.PlaceHold(ctx, ledger.PlaceHoldRequest{RequestID: f.rid(), AccountID: "alice", Amount: amount, Currency: "KRW", ATMID: "atm-1"})
		if err != nil {
			t.Fatal(err)
		}
		holds = append(holds, h)
	}
	if err := cockroach.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if n := f.mustCount(t, `SELECT count(*) FROM pg_indexes WHERE indexname = 'holds_active_by_account'`); n != 0 {
		t.Errorf("the partial index of active holds is still there")
	}
	if b := f.MustBalance(t, "alice"); b.Held != 5_000 {
		t.Fatalf("alice = %+v after the migration, want 5000 held", b)
	}
	_, err := f.PlaceHold(ctx, ledger.PlaceHoldRequest{RequestID: f.rid(), AccountID: "alice", Amount: 5_001, Currency: "KRW"})
	AssertCode(t, err, ledger.CodeInsufficientFunds)
	if _, err := f.CaptureHold(ctx, ledger.CaptureHoldRequest{RequestID: f.rid(), HoldID: holds[0].ID, Amount: 1_000}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.VoidHold(ctx, ledger.VoidHoldRequest{RequestID: f.rid(), HoldID: holds[1].ID}); err != nil {
		t.Fatal(err)
	}
	if b := f.MustBalance(t, "alice"); b.Posted != 9_000 || b.Held != 0 {
		t.Fatalf("alice = %+v, want 9000 and nothing held", b)
	}
	f.AssertBooksBalance(t)
}

// mustSchemaAt returns a fresh database migrated up to version, and a pool on it.
func mustSchemaAt(tb testing.TB, version int64) (string, *pgxpool.Pool) {
	tb.Helper()
	url := pgtest.NewDatabase(tb)
	pool := mustPool(tb, url)
	if err := cockroach.MigrateTo(context.Background(), pool, version); err != nil {
		tb.Fatal(err)
	}
	return url, pool
}
