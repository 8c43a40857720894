package cockroach_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// MustSealer returns a sealer on its own pool, logged in as the sealer role.
func (f *fixture) MustSealer(tb testing.TB, opt cockroach.SealerOptions) *cockroach.Sealer {
	tb.Helper()
	return cockroach.NewSealer(cockroach.New(f.MustOpenRolePool(tb, cockroach.RoleSealer), cockroach.Options{}), opt)
}

// MustSealAll seals until nothing is left and returns the head.
func (f *fixture) MustSealAll(tb testing.TB, z *cockroach.Sealer) ledger.Checkpoint {
	tb.Helper()
	ctx := context.Background()
	for {
		res, err := z.SealOnce(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		if !res.Leader {
			tb.Fatalf("sealer %s does not hold the lease", z.Holder())
		}
		if res.Sealed() == 0 && !res.TreeBehind {
			c, err := f.Checkpoint(ctx)
			if err != nil {
				tb.Fatal(err)
			}
			return c
		}
	}
}

// MustListJournal returns every record after after.
func (f *fixture) MustListJournal(tb testing.TB, after int64) []ledger.Record {
	tb.Helper()
	var all []ledger.Record
	for {
		page, err := f.ListJournal(context.Background(), ledger.JournalQuery{After: after, Limit: 3})
		if err != nil {
			tb.Fatal(err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		after = page[len(page)-1].Sequence
	}
}

// MustVerify verifies the whole journal and returns the outcome.
func (f *fixture) MustVerify(tb testing.TB, r ledger.JournalRange) ledger.Verification {
	tb.Helper()
	v, err := f.VerifyJournal(context.Background(), r)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func (f *fixture) mustCount(tb testing.TB, sql string) int {
	tb.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestSealerSealsEveryEntryOnce(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	f.MustOpen(t, "alice", 50_000)
	f.MustOpen(t, "bob", 0)
	teller := ledger.WithActor(ctx, "teller/kim")
	if _, err := f.Transfer(teller, ledger.TransferRequest{RequestID: "t1", From: "alice", To: "bob", Amount: 700, Currency: "KRW", Memo: "rent"}); err != nil {
		t.Fatal(err)
	}
	h, err := f.PlaceHold(ctx, ledger.PlaceHoldRequest{RequestID: "h1", AccountID: "alice", Amount: 300, Currency: "KRW", ATMID: "atm-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.CaptureHold(ctx, ledger.CaptureHoldRequest{RequestID: "c1", HoldID: h.ID, Amount: 100}); err != nil {
		t.Fatal(err)
	}
	f.MustCreatePromo(t, "special", 100_000, 10_000)
	if _, err := f.Subscribe(ctx, ledger.SubscribeRequest{RequestID: "s1", PromoID: "special", CustomerID: "cust-alice",
		FromAccount: "alice", Amount: 1_000}); err != nil {
		t.Fatal(err)
	}

	head := f.MustSealAll(t, f.MustSealer(t, cockroach.SealerOptions{Batch: 2}))
	entries := f.mustCount(t, `SELECT count(*) FROM entries`)
	records := f.MustListJournal(t, 0)
	if len(records) != entries || head.Sequence != int64(entries) {
		t.Fatalf("%d records, head %d, for %d entries", len(records), head.Sequence, entries)
	}
	if n := f.mustCount(t, `SELECT count(*) FROM journal_pending`); n != 0 {
		t.Errorf("%d entries still pending", n)
	}
	seen := map[string]bool{}
	kinds := map[ledger.EntryKind]int{}
	for i, r := range records {
		if r.Sequence != int64(i+1) || seen[r.Entry.ID] {
			t.Fatalf("record %d: sequence %d, entry %s (seen before: %v)", i, r.Sequence, r.Entry.ID, seen[r.Entry.ID])
		}
		seen[r.Entry.ID] = true
		kinds[r.Entry.Kind]++
		wantActor := ledger.SystemActor
		if r.Entry.RequestID == "t1" {
			wantActor = "teller/kim"
			if len(r.Entry.Postings) != 2 || r.Entry.Memo != "rent" {
				t.Errorf("transfer record = %+v", r.Entry)
			}
		}
		if r.Entry.Actor != wantActor {
			t.Errorf("record %d (%s): actor %q, want %q", r.Sequence, r.Entry.RequestID, r.Entry.Actor, wantActor)
		}
	}
	for _, k := range []ledger.EntryKind{ledger.EntryAccountOpening, ledger.EntryDeposit, ledger.EntryTransfer,
		ledger.EntryHoldPlacement, ledger.EntryHoldCapture, ledger.EntryPromoSubscription} {
		if kinds[k] == 0 {
			t.Errorf("no %s record in %v", k, kinds)
		}
	}
	if v := f.MustVerify(t, ledger.JournalRange{}); !v.OK || v.Checked != int64(entries) || v.Checkpoint.Sequence != head.Sequence {
		t.Errorf("verification = %+v", v)
	}
	if v := f.MustVerify(t, ledger.JournalRange{From: 3, To: 4}); !v.OK || v.Checked != 2 || v.Checkpoint.Sequence != 4 {
		t.Errorf("verification of 3..4 = %+v", v)
	}
}

func TestVerifyJournalNamesTamperedRecord(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	f.MustOpen(t, "alice", 50_000)
	f.MustOpen(t, "bob", 0)
	e, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: "t1", From: "alice", To: "bob", Amount: 700, Currency: "KRW"})
	if err != nil {
		t.Fatal(err)
	}
	f.MustOpen(t, "carol", 10)
	f.MustSealAll(t, f.MustSealer(t, cockroach.SealerOptions{}))
	var seq int64
	if err := f.pool.QueryRow(ctx, `SELECT sequence FROM journal WHERE entry_id = $1`, e.ID).Scan(&seq); err != nil {
		t.Fatal(err)
	}

	t.Run("Memo", func(t *testing.T) {
		pgtest.Tamper(t, f.pool, "UPDATE entries SET memo = 'refund' WHERE entry_id = '"+e.ID+"'")
		if v := f.MustVerify(t, ledger.JournalRange{}); v.OK || v.BadSequence != seq || v.Checkpoint.Sequence != seq-1 {
			t.Errorf("verification = %+v, want a failure at %d", v, seq)
		}
		pgtest.Tamper(t, f.pool, "UPDATE entries SET memo = '' WHERE entry_id = '"+e.ID+"'")
		if v := f.MustVerify(t, ledger.JournalRange{}); !v.OK {
			t.Errorf("restored: verification = %+v", v)
		}
	})
	t.Run("Amount", func(t *testing.T) {
		pgtest.Tamper(t, f.pool, "UPDATE postings SET amount = 7000 WHERE entry_id = '"+e.ID+"' AND account_id = 'bob'")
		if v := f.MustVerify(t, ledger.JournalRange{}); v.OK || v.BadSequence != seq {
			t.Errorf("verification = %+v, want a failure at %d", v, seq)
		}
		// The records after it still chain, but bob's balance is no longer
		// the sum of his postings.
		v := f.MustVerify(t, ledger.JournalRange{From: seq + 1})
		if v.OK || v.BadSequence != 0 || v.Reason != "account bob has balance 700 but its postings sum to 7000" {
			t.Errorf("verification after %d = %+v", seq, v)
		}
		pgtest.Tamper(t, f.pool, "UPDATE postings SET amount = 700 WHERE entry_id = '"+e.ID+"' AND account_id = 'bob'")
		if v := f.MustVerify(t, ledger.JournalRange{}); !v.OK {
			t.Errorf("restored: verification = %+v", v)
		}
	})
	// A posting added to a sealed entry, with the balance to match, is not
	// in the records the journal reads, so the chain still holds: the
	// verification must find it on its own.
	t.Run("StrayPosting", func(t *testing.T) {
		if _, err := f.pool.Exec(ctx, `INSERT INTO postings (entry_id, account_id, currency, amount, balance_after, posted_at)
			SELECT entry_id, 'carol', 'KRW', 5, 15, posted_at FROM entries WHERE entry_id = $1`, e.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.pool.Exec(ctx, `UPDATE balances SET posted = posted + 5 WHERE account_id = 'carol'`); err != nil {
			t.Fatal(err)
		}
		want := "posting of entry " + e.ID + " to account carol is not in its entry"
		if v := f.MustVerify(t, ledger.JournalRange{}); v.OK || v.BadSequence != 0 || v.Reason != want {
			t.Errorf("verification = %+v, want the reason %q", v, want)
		}
	})
}

func TestSealerLease(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	a := f.MustSealer(t, cockroach.SealerOptions{Holder: "a", LeaseTTL: time.Hour})
	b := f.MustSealer(t, cockroach.SealerOptions{Holder: "b", LeaseTTL: 200 * time.Millisecond})
	mustSeal := func(z *cockroach.Sealer) cockroach.SealResult {
		t.Helper()
		res, err := z.SealOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	f.MustOpen(t, "alice", 100) // the vault's opening, alice's, and the deposit
	if res := mustSeal(a); !res.Leader || res.Epoch != 1 || res.Sealed() != 3 {
		t.Fatalf("a: %+v, want the lease (epoch 1) and 3 records", res)
	}
	f.MustOpen(t, "bob", 100)
	if res := mustSeal(b); res.Leader || res.Sealed() != 0 {
		t.Fatalf("b while a holds the lease: %+v", res)
	}
	if c, _ := f.Checkpoint(ctx); c.Sequence != 3 {
		t.Fatalf("b sealed without the lease: head %d", c.Sequence)
	}

	// a stops and gives the lease up; b takes it in a new epoch.
	stopped, stop := context.WithCancel(ctx)
	stop()
	a.Run(stopped)
	if res := mustSeal(b); !res.Leader || res.Epoch != 2 || res.First != 4 || res.Last != 5 {
		t.Fatalf("b after a released: %+v, want epoch 2 sealing 4..5", res)
	}
	// b's short lease runs out while it is idle: a takes over in epoch 3.
	deadline := time.Now().Add(time.Minute)
	for res := mustSeal(a); !res.Leader; res = mustSeal(a) {
		if time.Now().After(deadline) {
			t.Fatal("a never took over b's expired lease")
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.MustOpen(t, "carol", 0)
	if res := mustSeal(a); res.Epoch != 3 || res.Sealed() != 1 {
		t.Fatalf("a after b's lease expired: %+v", res)
	}
	records := f.MustListJournal(t, 0)
	want := []struct {
		by    string
		epoch int64
	}{{"a", 1}, {"a", 1}, {"a", 1}, {"b", 2}, {"b", 2}, {"a", 3}}
	for i, r := range records {
		if i >= len(want) || r.SealedBy != want[i].by || r.LeaseEpoch != want[i].epoch {
			t.Errorf("record %d sealed by %q in epoch %d, want %+v", r.Sequence, r.SealedBy, r.LeaseEpoch, want)
		}
	}
}

// TestRolesLeastPrivilege shows that the online server's role cannot change
// or remove what the journal is made of, that the sealer cannot rewrite it
// either, and that the auditors' role can only read.
func TestRolesLeastPrivilege(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	writer := cockroach.New(f.MustOpenRolePool(t, cockroach.RoleWriter), cockroach.Options{})
	if _, err := writer.OpenAccount(ctx, ledger.OpenAccountRequest{RequestID: "o1", AccountID: "alice", CustomerID: "c1",
		Currency: "KRW", Kind: ledger.KindCustomer}); err != nil {
		t.Fatalf("the writer role cannot open an account: %v", err)
	}
	if _, err := writer.Deposit(ctx, ledger.DepositRequest{RequestID: "d1", AccountID: "alice", Amount: 100, Currency: "KRW"}); err != nil {
		t.Fatalf("the writer role cannot deposit: %v", err)
	}
	f.MustSealAll(t, f.MustSealer(t, cockroach.SealerOptions{}))
	auditor := cockroach.New(f.MustOpenRolePool(t, cockroach.RoleAuditor), cockroach.Options{})
	if v, err := auditor.VerifyJournal(ctx, ledger.JournalRange{}); err != nil || !v.OK || v.Checked != 3 {
		t.Fatalf("the auditor role's verification: %+v, %v", v, err)
	}

	refused := map[string][]string{
		cockroach.RoleWriter: {
			`UPDATE entries SET memo = 'x'`, `DELETE FROM entries`,
			`UPDATE postings SET amount = amount + 1`, `DELETE FROM postings`,
			`UPDATE journal_blocks SET sealed_by = 'x'`, `DELETE FROM journal_blocks`,
			`INSERT INTO journal_blocks SELECT 99, 99, prev_hash, entry_ids, posted_ats, hashes, first_posted_at, last_posted_at,
				sealed_at, sealed_by, lease_epoch FROM journal_blocks LIMIT 1`,
		},
		cockroach.RoleSealer: {
			`UPDATE journal_blocks SET sealed_by = 'x'`, `DELETE FROM journal_blocks`,
			`UPDATE entries SET memo = 'x'`, `UPDATE postings SET amount = amount + 1`,
		},
		cockroach.RoleAuditor: {
			`INSERT INTO entries (entry_id, kind, request_id, memo, posted_at) VALUES (gen_random_uuid(), 'DEPOSIT', 'x', '', now())`,
			`INSERT INTO journal_pending (entry_id, posted_at) VALUES (gen_random_uuid(), now())`,
			`UPDATE balances SET posted = 0`, `DELETE FROM journal_blocks`, `UPDATE sealer_lease SET holder = 'x'`,
		},
	}
	for role, stmts := range refused {
		pool := f.MustOpenRolePool(t, role)
		for _, sql := range stmts {
			_, err := pool.Exec(ctx, sql)
			var pg *pgconn.PgError
			if !errors.As(err, &pg) || pg.Code != "42501" {
				t.Errorf("%s: %s: %v, want SQLSTATE 42501 (insufficient privilege)", role, sql, err)
			}
		}
	}
}

// TestSealerReadsPendingRecords: the sealer seals an entry from the
// canonical bytes its transaction queued, and from the tables when they are
// missing (queued before they existed), do not parse, or name another
// entry; bytes that name the right entry but lie about it are sealed as
// they are, and verification, which recomputes from the tables, names them.
func TestSealerReadsPendingRecords(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	f.MustOpen(t, "alice", 50_000)
	f.MustOpen(t, "bob", 0)
	ids := map[string]string{}
	for _, rid := range []string{"none", "garbage", "other", "plain"} {
		e, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: rid, From: "alice", To: "bob", Amount: 10, Currency: "KRW"})
		if err != nil {
			t.Fatal(err)
		}
		ids[rid] = e.ID
	}
	if n := f.mustCount(t, `SELECT count(*) FROM journal_pending WHERE record IS NULL`); n != 0 {
		t.Fatalf("%d pending entries without canonical bytes", n)
	}
	for sql, args := range map[string][]any{
		`UPDATE journal_pending SET record = NULL WHERE entry_id = $1`:                                                     {ids["none"]},
		`UPDATE journal_pending SET record = '\x01beef' WHERE entry_id = $1`:                                               {ids["garbage"]},
		`UPDATE journal_pending SET record = (SELECT record FROM journal_pending WHERE entry_id = $2) WHERE entry_id = $1`: {ids["other"], ids["plain"]},
	} {
		if _, err := f.pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	z := f.MustSealer(t, cockroach.SealerOptions{})
	head := f.MustSealAll(t, z)
	if v := f.MustVerify(t, ledger.JournalRange{}); !v.OK || v.Checked != head.Sequence {
		t.Fatalf("verification = %+v", v)
	}

	// Bytes of the right entry and time whose memo lies.
	e, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: "lie", From: "alice", To: "bob", Amount: 10, Currency: "KRW"})
	if err != nil {
		t.Fatal(err)
	}
	lie := e
	lie.Memo = "not what the entry says"
	if _, err := f.pool.Exec(ctx, `UPDATE journal_pending SET record = $2 WHERE entry_id = $1`, e.ID, ledger.Canonical(0, lie)); err != nil {
		t.Fatal(err)
	}
	head = f.MustSealAll(t, z)
	if v := f.MustVerify(t, ledger.JournalRange{}); v.OK || v.BadSequence != head.Sequence {
		t.Fatalf("verification after a lying record = %+v, want it to name sequence %d", v, head.Sequence)
	}
}

// TestSealerFindsLateEntries commits an entry whose time is a minute
// before the latest the sealer has sealed, as one that stalled before its
// commit would be: polls start near the latest time sealed, and the
// periodic sweep from the queue's beginning must still seal it, once.
func TestSealerFindsLateEntries(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	f.MustOpen(t, "alice", 50_000)
	f.MustOpen(t, "bob", 0)
	z := f.MustSealer(t, cockroach.SealerOptions{})
	f.clock.Advance(time.Minute)
	if _, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: "later", From: "alice", To: "bob", Amount: 10, Currency: "KRW"}); err != nil {
		t.Fatal(err)
	}
	f.MustSealAll(t, z)
	f.clock.Advance(-time.Minute)
	late, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: "late", From: "alice", To: "bob", Amount: 10, Currency: "KRW"})
	if err != nil {
		t.Fatal(err)
	}
	sealed := func() bool {
		var n int
		if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM journal WHERE entry_id = $1`, late.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	wait := cockroach.SweepEvery + 10*time.Second
	deadline := time.Now().Add(wait)
	for !sealed() {
		if time.Now().After(deadline) {
			t.Fatalf("the late entry was not sealed within %s of polls", wait)
		}
		if _, err := z.SealOnce(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v := f.MustVerify(t, ledger.JournalRange{}); !v.OK {
		t.Fatalf("verification = %+v", v)
	}
}
