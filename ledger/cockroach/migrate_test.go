package cockroach_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	want, err := cockroach.MigrationVersions()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := pools[0].Query(ctx, `SELECT version_id FROM goose_db_version WHERE version_id > 0 ORDER BY version_id`)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(applied, want) {
		t.Errorf("migrations recorded %v, want each of %v once", applied, want)
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
	// Alice with 10,000 and two active holds, as a version-7 ledger wrote
	// them.
	holds := []string{"00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"}
	for _, sql := range []string{
		`INSERT INTO accounts (account_id, customer_id, currency, kind, status, shards, created_at) VALUES
			('sys:vault:KRW', '', 'KRW', 'INTERNAL', 'ACTIVE', 1, now()), ('alice', 'c1', 'KRW', 'CUSTOMER', 'ACTIVE', 1, now())`,
		`INSERT INTO balances (account_id, shard, posted, holds_until) VALUES ('sys:vault:KRW', 0, -10000, now()),
			('alice', 0, 10000, now() + INTERVAL '1 hour')`,
		`INSERT INTO entries (entry_id, kind, actor, request_id, memo, posted_at, accounts) VALUES
			('00000000-0000-0000-0000-000000000001', 'DEPOSIT', 'system', 'd1', '', TIMESTAMPTZ '2026-01-02 03:04:05Z',
				ARRAY['alice', 'sys:vault:KRW'])`,
		`INSERT INTO postings (entry_id, account_id, currency, amount, balance_after, posted_at) VALUES
			('00000000-0000-0000-0000-000000000001', 'alice', 'KRW', 10000, 10000, TIMESTAMPTZ '2026-01-02 03:04:05Z'),
			('00000000-0000-0000-0000-000000000001', 'sys:vault:KRW', 'KRW', -10000, -10000,
				TIMESTAMPTZ '2026-01-02 03:04:05Z')`,
		`INSERT INTO holds (hold_id, account_id, currency, amount, captured_amount, status, atm_id, request_id,
			created_at, expires_at) VALUES
			('` + holds[0] + `', 'alice', 'KRW', 3000, 0, 'ACTIVE', 'atm-1', 'h1', now(), now() + INTERVAL '1 hour'),
			('` + holds[1] + `', 'alice', 'KRW', 2000, 0, 'ACTIVE', 'atm-1', 'h2', now(), now() + INTERVAL '1 hour')`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	f := newFixture(t, url, pool, cockroach.Options{})
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
	if _, err := f.CaptureHold(ctx, ledger.CaptureHoldRequest{RequestID: f.rid(), HoldID: holds[0], Amount: 1_000}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.VoidHold(ctx, ledger.VoidHoldRequest{RequestID: f.rid(), HoldID: holds[1]}); err != nil {
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

// TestMigrateJournalByEntryTime seals entries the way a ledger before
// migration 44 did (records without a time), migrates, and seals more:
// the journal verifies, a proof finds a record of either kind by its
// entry's id, and no entry can get a second record, with a time or
// without.
func TestMigrateJournalByEntryTime(t *testing.T) {
	ctx := context.Background()
	url, pool := mustSchemaAt(t, 43)
	f := newFixture(t, url, pool, cockroach.Options{})
	f.MustOpen(t, "alice", 700)
	old := sealByHand(t, pool)
	if err := cockroach.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if n := f.mustCount(t, `SELECT count(*) FROM journal WHERE posted_at IS NULL`); n != len(old) {
		t.Fatalf("%d records without a time after the migration, want the %d sealed before it", n, len(old))
	}
	f.MustOpen(t, "bob", 300)
	signer, _ := mustSigner(t, "test/journal")
	head := f.MustSealAll(t, f.MustSealer(t, cockroach.SealerOptions{Signer: signer, CheckpointInterval: time.Nanosecond}))
	if v := f.MustVerify(t, ledger.JournalRange{}); !v.OK || v.Checked != head.Sequence {
		t.Fatalf("verification = %+v", v)
	}
	var timed string
	var timedSeq int64
	if err := pool.QueryRow(ctx, `SELECT CAST(entry_id AS TEXT), sequence FROM journal WHERE posted_at IS NOT NULL
		ORDER BY sequence LIMIT 1`).Scan(&timed, &timedSeq); err != nil {
		t.Fatal(err)
	}
	for id, seq := range map[string]int64{old[0]: 1, timed: timedSeq} {
		inc, err := f.InclusionProof(ctx, ledger.InclusionQuery{EntryID: id})
		if err != nil || inc.Record.Sequence != seq {
			t.Errorf("the proof of entry %s: record %d, %v; want record %d", id, inc.Record.Sequence, err, seq)
		}
	}
	for _, again := range []string{
		`INSERT INTO journal (sequence, entry_id, prev_hash, hash, sealed_at)
			SELECT 1000, entry_id, hash, hash, sealed_at FROM journal WHERE sequence = 1`,
		`INSERT INTO journal (sequence, entry_id, posted_at, prev_hash, hash, sealed_at)
			SELECT 1001, entry_id, posted_at, hash, hash, sealed_at FROM journal WHERE sequence = ` + strconv.FormatInt(timedSeq, 10),
	} {
		_, err := pool.Exec(ctx, again)
		if pg := (*pgconn.PgError)(nil); !errors.As(err, &pg) || pg.Code != pgerrcode.UniqueViolation {
			t.Errorf("a second record for a sealed entry: %v, want a unique violation\n%s", err, again)
		}
	}
}

// sealByHand seals what waits in journal_pending as a sealer before
// migration 44 did, without a time: records 1..n in the queue's order,
// chained from the genesis. It returns the sealed entries' ids in order.
func sealByHand(tb testing.TB, pool *pgxpool.Pool) []string {
	tb.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT record FROM journal_pending ORDER BY posted_at, entry_id`)
	if err != nil {
		tb.Fatal(err)
	}
	records, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		tb.Fatal(err)
	}
	var ids []string
	prev := ledger.GenesisHash()
	for i, b := range records {
		_, e, err := ledger.ParseCanonical(b)
		if err != nil {
			tb.Fatal(err)
		}
		hash := ledger.ChainHash(prev, int64(i+1), e)
		if _, err := pool.Exec(ctx, `INSERT INTO journal (sequence, entry_id, prev_hash, hash, sealed_at, sealed_by)
			VALUES ($1, $2, $3, $4, now(), 'by hand')`, i+1, e.ID, prev, hash); err != nil {
			tb.Fatal(err)
		}
		ids, prev = append(ids, e.ID), hash
	}
	if _, err := pool.Exec(ctx, `DELETE FROM journal_pending`); err != nil {
		tb.Fatal(err)
	}
	if len(ids) == 0 {
		tb.Fatal("nothing was pending")
	}
	return ids
}
