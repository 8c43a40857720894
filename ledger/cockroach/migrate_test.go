package cockroach_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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

// TestMigrateJournalIntoBlocks seals entries the way a ledger before
// migration 44 did (records without a time), migrates to 45 and seals more
// as a ledger between 44 and 46 did (records with a time), then migrates
// to blocks (migrations 46 to 49) and seals more with the sealer: every
// record is there with its entry's time, the journal verifies, a proof
// finds a record of each kind by its entry's id, and an entry given a
// second record is named by the verification.
func TestMigrateJournalIntoBlocks(t *testing.T) {
	ctx := context.Background()
	url, pool := mustSchemaAt(t, 43)
	f := newFixture(t, url, pool, cockroach.Options{})
	f.MustOpen(t, "alice", 700)
	untimed := sealByHand(t, pool, false)
	if err := cockroach.MigrateTo(ctx, pool, 45); err != nil {
		t.Fatal(err)
	}
	f.MustOpen(t, "bob", 300)
	timed := sealByHand(t, pool, true)
	if err := cockroach.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	sealed := len(untimed) + len(timed)
	if n := f.mustCount(t, `SELECT count(*) FROM journal_blocks`); n != sealed {
		t.Fatalf("%d blocks after the migration, want one for each of the %d records", n, sealed)
	}
	if n := f.mustCount(t, `SELECT count(*) FROM journal AS j JOIN entries AS e ON e.entry_id = j.entry_id
		WHERE j.posted_at = e.posted_at`); n != sealed {
		t.Fatalf("%d records with their entry's time after the migration, want %d", n, sealed)
	}
	f.MustOpen(t, "carol", 100)
	signer, _ := mustSigner(t, "test/journal")
	head := f.MustSealAll(t, f.MustSealer(t, cockroach.SealerOptions{Signer: signer, CheckpointInterval: time.Nanosecond}))
	if v := f.MustVerify(t, ledger.JournalRange{}); !v.OK || v.Checked != head.Sequence || head.Sequence <= int64(sealed) {
		t.Fatalf("verification = %+v, head %d", v, head.Sequence)
	}
	records := f.MustListJournal(t, 0)
	last := records[len(records)-1]
	for id, seq := range map[string]int64{untimed[0]: 1, timed[0]: int64(len(untimed) + 1), last.Entry.ID: last.Sequence} {
		inc, err := f.InclusionProof(ctx, ledger.InclusionQuery{EntryID: id})
		if err != nil || inc.Record.Sequence != seq {
			t.Errorf("the proof of entry %s: record %d, %v; want record %d", id, inc.Record.Sequence, err, seq)
		}
	}

	// A second record of the first entry, chained onto the head as a
	// sealer at fault would append it.
	again := records[0].Entry
	hash := ledger.ChainHash(head.Hash, head.Sequence+1, again)
	if _, err := pool.Exec(ctx, `INSERT INTO journal_blocks (first_sequence, last_sequence, prev_hash, entry_ids, posted_ats,
			hashes, first_posted_at, last_posted_at, sealed_at, sealed_by, lease_epoch)
		VALUES ($1, $1, $2, ARRAY[CAST($3 AS UUID)], ARRAY[CAST($4 AS TIMESTAMPTZ)], ARRAY[CAST($5 AS BYTEA)], $4, $4, now(), 'by hand', 0)`,
		head.Sequence+1, head.Hash, again.ID, again.PostedAt, hash); err != nil {
		t.Fatal(err)
	}
	if v := f.MustVerify(t, ledger.JournalRange{}); v.OK || !strings.Contains(v.Reason, "entry "+again.ID+" is sealed more than once") {
		t.Errorf("verification with a second record of entry %s = %+v", again.ID, v)
	}
}

// sealByHand seals what waits in journal_pending as a sealer before
// migration 46 did, a row a record, chained on from the journal's head:
// with the entry's time (migration 44 on) or without (before it). It
// returns the sealed entries' ids in order.
func sealByHand(tb testing.TB, pool *pgxpool.Pool, timed bool) []string {
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
	var seq int64
	prev := ledger.GenesisHash()
	if err := pool.QueryRow(ctx, `SELECT sequence, hash FROM journal ORDER BY sequence DESC LIMIT 1`).Scan(&seq, &prev); err != nil &&
		!errors.Is(err, pgx.ErrNoRows) {
		tb.Fatal(err)
	}
	for _, b := range records {
		_, e, err := ledger.ParseCanonical(b)
		if err != nil {
			tb.Fatal(err)
		}
		seq++
		hash := ledger.ChainHash(prev, seq, e)
		insert, args := `INSERT INTO journal (sequence, entry_id, prev_hash, hash, sealed_at, sealed_by)
			VALUES ($1, $2, $3, $4, now(), 'by hand')`, []any{seq, e.ID, prev, hash}
		if timed {
			insert, args = `INSERT INTO journal (sequence, entry_id, prev_hash, hash, sealed_at, sealed_by, posted_at)
				VALUES ($1, $2, $3, $4, now(), 'by hand', $5)`, append(args, e.PostedAt)
		}
		if _, err := pool.Exec(ctx, insert, args...); err != nil {
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

// TestJournalArraysHaveNoStatistics: on PostgreSQL, ANALYZE of the
// journal's blocks gathers statistics of their plain columns but not of
// their arrays, whose elements it would otherwise read one by one
// (migration 52).
func TestJournalArraysHaveNoStatistics(t *testing.T) {
	ctx := context.Background()
	if pgtest.IsCockroach(t) {
		t.Skip("statistics targets are PostgreSQL's")
	}
	f := MustOpenStore(t, cockroach.Options{})
	f.MustOpen(t, "alice", 5_000)
	f.MustOpen(t, "bob", 0)
	sealer := f.MustSealer(t, cockroach.SealerOptions{})
	for i := range 3 {
		if _, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: "t" + strconv.Itoa(i), From: "alice", To: "bob",
			Amount: 10, Currency: "KRW"}); err != nil {
			t.Fatal(err)
		}
		f.MustSealAll(t, sealer)
	}
	if _, err := f.pool.Exec(ctx, `ANALYZE journal_blocks`); err != nil {
		t.Fatal(err)
	}
	rows, _ := f.pool.Query(ctx, `SELECT attname FROM pg_stats WHERE tablename = 'journal_blocks' ORDER BY attname`)
	columns, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(columns, "first_sequence") {
		t.Fatalf("ANALYZE gathered statistics of %v, want first_sequence among them", columns)
	}
	for _, array := range []string{"entry_ids", "posted_ats", "hashes"} {
		if slices.Contains(columns, array) {
			t.Errorf("ANALYZE gathered statistics of the array %s", array)
		}
	}
}
