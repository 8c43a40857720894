package cockroach_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// channel is a context as a channel service's call has it: an actor, and no
// operator's authority.
func channel(name string) context.Context {
	return ledger.WithActor(context.Background(), ledger.Actor("channel/"+name))
}

// operator is a context with the operator's authority.
func operator() context.Context {
	return ledger.WithPrivilege(ledger.WithActor(context.Background(), "operator/ops"))
}

// mustOpenInternal opens an internal account in KRW as the operator.
func (f *fixture) mustOpenInternal(tb testing.TB, id string) {
	tb.Helper()
	if _, err := f.OpenAccount(operator(), ledger.OpenAccountRequest{RequestID: f.rid(), AccountID: id, CustomerID: "bank",
		Currency: "KRW", Kind: ledger.KindInternal}); err != nil {
		tb.Fatal(err)
	}
}

func TestPostEntry(t *testing.T) {
	f := MustOpenStore(t, cockroach.Options{})
	f.MustOpen(t, "alice", 100_000)
	f.MustOpen(t, "bob", 0)
	f.mustOpenInternal(t, "fees")
	ctx := channel("mobile")

	fee := ledger.PostEntryRequest{RequestID: "fee-1", Memo: "transfer with fee", Postings: []ledger.Posting{
		{AccountID: "alice", Currency: "KRW", Amount: -10_500},
		{AccountID: "bob", Currency: "KRW", Amount: 10_000},
		{AccountID: "fees", Currency: "KRW", Amount: 500},
	}}
	t.Run("OK", func(t *testing.T) {
		e, err := f.PostEntry(ctx, fee)
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind != ledger.EntryGeneral || len(e.Postings) != 3 || e.Actor != "channel/mobile" {
			t.Errorf("entry = %+v", e)
		}
		for id, want := range map[string]int64{"alice": 89_500, "bob": 10_000, "fees": 500} {
			if b := f.MustBalance(t, id); b.Posted != want {
				t.Errorf("%s = %d, want %d", id, b.Posted, want)
			}
		}
		again, err := f.PostEntry(ctx, fee)
		if err != nil || again.ID != e.ID {
			t.Errorf("replay = %+v, %v; want entry %s", again, err, e.ID)
		}
		if b := f.MustBalance(t, "alice"); b.Posted != 89_500 {
			t.Errorf("the replay posted again: alice = %d", b.Posted)
		}
	})
	t.Run("ErrIdempotencyConflict", func(t *testing.T) {
		other := fee
		other.Memo = "another"
		_, err := f.PostEntry(ctx, other)
		AssertCode(t, err, ledger.CodeIdempotencyConflict)
	})
	t.Run("RequestIDsAreTheCallers", func(t *testing.T) {
		// The same id from another caller is another request.
		e, err := f.PostEntry(channel("atm-switch"), fee)
		if err != nil {
			t.Fatal(err)
		}
		if e.Actor != "channel/atm-switch" {
			t.Errorf("actor = %s", e.Actor)
		}
	})
	t.Run("ErrUnbalanced", func(t *testing.T) {
		_, err := f.PostEntry(ctx, ledger.PostEntryRequest{RequestID: f.rid(), Postings: []ledger.Posting{
			{AccountID: "alice", Currency: "KRW", Amount: -100}, {AccountID: "bob", Currency: "KRW", Amount: 99}}})
		AssertCode(t, err, ledger.CodeInvalidArgument)
	})
	t.Run("ErrInsufficientFunds", func(t *testing.T) {
		_, err := f.PostEntry(ctx, ledger.PostEntryRequest{RequestID: f.rid(), Postings: []ledger.Posting{
			{AccountID: "bob", Currency: "KRW", Amount: -1_000_000}, {AccountID: "alice", Currency: "KRW", Amount: 1_000_000}}})
		AssertCode(t, err, ledger.CodeInsufficientFunds)
	})
	t.Run("ErrDebitNotPermitted", func(t *testing.T) {
		_, err := f.PostEntry(ctx, ledger.PostEntryRequest{RequestID: f.rid(), Postings: []ledger.Posting{
			{AccountID: "fees", Currency: "KRW", Amount: -100}, {AccountID: "bob", Currency: "KRW", Amount: 100}}})
		AssertCode(t, err, ledger.CodeDebitNotPermitted)
		if _, err := f.PostEntry(operator(), ledger.PostEntryRequest{RequestID: f.rid(), Postings: []ledger.Posting{
			{AccountID: "fees", Currency: "KRW", Amount: -100}, {AccountID: "bob", Currency: "KRW", Amount: 100}}}); err != nil {
			t.Errorf("the operator's refund of a fee: %v", err)
		}
	})
	f.AssertBooksBalance(t)
}

// TestChannelsCannotCreateMoney: a channel can neither open an internal
// account, nor debit one by a transfer, a withdrawal, an entry or a hold;
// a deposit still debits the vault, by design.
func TestChannelsCannotCreateMoney(t *testing.T) {
	f := MustOpenStore(t, cockroach.Options{})
	ctx := channel("mobile")
	f.MustOpen(t, "mallory", 1_000)
	f.mustOpenInternal(t, "ops")

	_, err := f.OpenAccount(ctx, ledger.OpenAccountRequest{RequestID: f.rid(), AccountID: "mine", CustomerID: "mallory",
		Currency: "KRW", Kind: ledger.KindInternal})
	AssertCode(t, err, ledger.CodeAccountKindNotPermitted)
	for _, from := range []string{"sys:vault:KRW", "ops"} {
		_, err = f.Transfer(ctx, ledger.TransferRequest{RequestID: f.rid(), From: from, To: "mallory", Amount: 5_000_000, Currency: "KRW"})
		AssertCode(t, err, ledger.CodeDebitNotPermitted)
		_, err = f.Withdraw(ctx, ledger.WithdrawRequest{RequestID: f.rid(), AccountID: from, Amount: 7_000_000, Currency: "KRW", ATMID: "atm-1"})
		AssertCode(t, err, ledger.CodeDebitNotPermitted)
		_, err = f.PostEntry(ctx, ledger.PostEntryRequest{RequestID: f.rid(), Postings: []ledger.Posting{
			{AccountID: from, Currency: "KRW", Amount: -7_000_000}, {AccountID: "mallory", Currency: "KRW", Amount: 7_000_000}}})
		AssertCode(t, err, ledger.CodeDebitNotPermitted)
		_, err = f.PlaceHold(ctx, ledger.PlaceHoldRequest{RequestID: f.rid(), AccountID: from, Amount: 1, Currency: "KRW"})
		AssertCode(t, err, ledger.CodeDebitNotPermitted)
	}
	if _, err := f.Deposit(ctx, ledger.DepositRequest{RequestID: f.rid(), AccountID: "mallory", Amount: 10, Currency: "KRW"}); err != nil {
		t.Fatalf("a deposit debits the vault by design: %v", err)
	}
	if b := f.MustBalance(t, "mallory"); b.Posted != 1_010 {
		t.Errorf("mallory = %d, want 1010", b.Posted)
	}
	f.AssertBooksBalance(t)
}

func TestReverseEntry(t *testing.T) {
	f := MustOpenStore(t, cockroach.Options{})
	f.MustOpen(t, "alice", 100_000)
	f.MustOpen(t, "bob", 0)
	f.mustOpenInternal(t, "fees")
	ctx := channel("mobile")
	orig, err := f.PostEntry(ctx, ledger.PostEntryRequest{RequestID: f.rid(), Postings: []ledger.Posting{
		{AccountID: "alice", Currency: "KRW", Amount: -10_500},
		{AccountID: "bob", Currency: "KRW", Amount: 10_000},
		{AccountID: "fees", Currency: "KRW", Amount: 500},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ErrReversalNotPermitted", func(t *testing.T) {
		_, err := f.ReverseEntry(channel("other"), ledger.ReverseEntryRequest{RequestID: f.rid(), EntryID: orig.ID})
		AssertCode(t, err, ledger.CodeReversalNotPermitted)
	})
	t.Run("ErrDebitNotPermitted", func(t *testing.T) {
		// Its own entry, but the reversal would debit the bank's fee account.
		_, err := f.ReverseEntry(ctx, ledger.ReverseEntryRequest{RequestID: f.rid(), EntryID: orig.ID})
		AssertCode(t, err, ledger.CodeDebitNotPermitted)
	})
	var rev ledger.Entry
	t.Run("OK", func(t *testing.T) {
		rq := ledger.ReverseEntryRequest{RequestID: "rev-1", EntryID: orig.ID, Memo: "refund"}
		rev, err = f.ReverseEntry(operator(), rq)
		if err != nil {
			t.Fatal(err)
		}
		if rev.Kind != ledger.EntryReversal || rev.ReversesEntryID != orig.ID || rev.Actor != "operator/ops" {
			t.Errorf("reversal = %+v", rev)
		}
		for id, want := range map[string]int64{"alice": 100_000, "bob": 0, "fees": 0} {
			if b := f.MustBalance(t, id); b.Posted != want {
				t.Errorf("%s = %d, want %d", id, b.Posted, want)
			}
		}
		again, err := f.ReverseEntry(operator(), rq)
		if err != nil || again.ID != rev.ID {
			t.Errorf("replay = %+v, %v", again, err)
		}
		page, err := f.ListEntries(context.Background(), ledger.StatementQuery{AccountID: "bob"})
		if err != nil || len(page.Lines) != 2 {
			t.Fatalf("bob's statement = %+v, %v", page.Lines, err)
		}
		for _, l := range page.Lines {
			if l.EntryID == rev.ID && (l.ReversesEntryID != orig.ID || l.Amount != -10_000) {
				t.Errorf("bob's statement shows the reversal as %+v", l)
			}
		}
	})
	t.Run("ErrEntryAlreadyReversed", func(t *testing.T) {
		_, err := f.ReverseEntry(operator(), ledger.ReverseEntryRequest{RequestID: f.rid(), EntryID: orig.ID})
		AssertCode(t, err, ledger.CodeEntryAlreadyReversed)
	})
	t.Run("ErrEntryNotReversible", func(t *testing.T) {
		_, err := f.ReverseEntry(operator(), ledger.ReverseEntryRequest{RequestID: f.rid(), EntryID: rev.ID})
		AssertCode(t, err, ledger.CodeEntryNotReversible)
		// An account opening moves no money.
		var opening string
		if err := f.pool.QueryRow(context.Background(), `SELECT CAST(entry_id AS TEXT) FROM entries WHERE kind = 'ACCOUNT_OPENING' LIMIT 1`).Scan(&opening); err != nil {
			t.Fatal(err)
		}
		_, err = f.ReverseEntry(operator(), ledger.ReverseEntryRequest{RequestID: f.rid(), EntryID: opening})
		AssertCode(t, err, ledger.CodeEntryNotReversible)
	})
	t.Run("ErrEntryNotFound", func(t *testing.T) {
		_, err := f.ReverseEntry(operator(), ledger.ReverseEntryRequest{RequestID: f.rid(), EntryID: "00000000-0000-0000-0000-000000000042"})
		AssertCode(t, err, ledger.CodeEntryNotFound)
	})
	t.Run("ErrInsufficientFunds", func(t *testing.T) {
		// Bob has spent what a transfer gave him: its reversal cannot take it back.
		tr, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: f.rid(), From: "alice", To: "bob", Amount: 5_000, Currency: "KRW"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: f.rid(), From: "bob", To: "alice", Amount: 4_000, Currency: "KRW"}); err != nil {
			t.Fatal(err)
		}
		_, err = f.ReverseEntry(ctx, ledger.ReverseEntryRequest{RequestID: f.rid(), EntryID: tr.ID})
		AssertCode(t, err, ledger.CodeInsufficientFunds)
	})
	t.Run("RacingReversalsPostOnce", func(t *testing.T) {
		tr, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: f.rid(), From: "alice", To: "bob", Amount: 700, Currency: "KRW"})
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 8)
		for i := range 8 {
			go func() {
				_, err := f.ReverseEntry(ctx, ledger.ReverseEntryRequest{RequestID: fmt.Sprintf("race-%d", i), EntryID: tr.ID})
				errs <- err
			}()
		}
		ok := 0
		for range 8 {
			switch err := <-errs; ledger.ErrorCode(err) {
			case "":
				ok++
			case ledger.CodeEntryAlreadyReversed:
			default:
				t.Errorf("racing reversal: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d reversals posted, want 1", ok)
		}
	})
	f.AssertBooksBalance(t)
	// The journal seals reversals with their link, and verifies.
	f.MustSealAll(t, f.MustSealer(t, cockroach.SealerOptions{}))
	if v := f.MustVerify(t, ledger.JournalRange{}); !v.OK {
		t.Errorf("verification = %+v", v)
	}
	records, err := f.ListJournal(context.Background(), ledger.JournalQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	linked := 0
	for _, r := range records {
		if r.Entry.ReversesEntryID != "" {
			linked++
		}
	}
	if linked != 2 {
		t.Errorf("%d journal records link a reversed entry, want 2", linked)
	}
}

func TestSubmitBatch(t *testing.T) {
	f := MustOpenStore(t, cockroach.Options{})
	ctx := channel("payroll")
	f.MustOpen(t, "employer", 1_000_000)
	for i := range 50 {
		f.MustOpen(t, fmt.Sprintf("emp-%d", i), 0)
	}
	f.MustOpen(t, "poor", 10)
	transfer := func(id, from, to string, amount int64) ledger.BatchItem {
		return ledger.BatchItem{Transfer: &ledger.TransferRequest{RequestID: id, From: from, To: to, Amount: amount, Currency: "KRW"}}
	}

	t.Run("Independent", func(t *testing.T) {
		var items []ledger.BatchItem
		for i := range 50 {
			items = append(items, transfer(fmt.Sprintf("pay-%d", i), "employer", fmt.Sprintf("emp-%d", i), 1_000))
		}
		items = append(items, transfer("overdraft", "poor", "employer", 1_000))
		results, err := f.SubmitBatch(ctx, ledger.SubmitBatchRequest{Items: items})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range results[:50] {
			if r.Err != nil || r.Entry.RequestID != fmt.Sprintf("pay-%d", i) {
				t.Errorf("item %d: %+v", i, r)
			}
		}
		AssertCode(t, results[50].Err, ledger.CodeInsufficientFunds)
		if b := f.MustBalance(t, "employer"); b.Posted != 950_000 {
			t.Errorf("employer = %d, want 950000", b.Posted)
		}
		// The same batch again: every item replays, nothing is posted twice.
		again, err := f.SubmitBatch(ctx, ledger.SubmitBatchRequest{Items: items})
		if err != nil {
			t.Fatal(err)
		}
		for i := range results {
			if again[i].Entry.ID != results[i].Entry.ID || ledger.ErrorCode(again[i].Err) != ledger.ErrorCode(results[i].Err) {
				t.Errorf("item %d replayed as %+v, first %+v", i, again[i], results[i])
			}
		}
		if b := f.MustBalance(t, "employer"); b.Posted != 950_000 {
			t.Errorf("after the replay employer = %d, want 950000", b.Posted)
		}
	})
	t.Run("Atomic", func(t *testing.T) {
		items := []ledger.BatchItem{
			transfer("a-1", "employer", "emp-1", 100),
			transfer("a-2", "poor", "emp-2", 1_000), // overdraft
			transfer("a-3", "employer", "emp-3", 100),
		}
		results, err := f.SubmitBatch(ctx, ledger.SubmitBatchRequest{Items: items, Atomic: true})
		if err != nil {
			t.Fatal(err)
		}
		AssertCode(t, results[0].Err, ledger.CodeBatchItemNotApplied)
		AssertCode(t, results[1].Err, ledger.CodeInsufficientFunds)
		AssertCode(t, results[2].Err, ledger.CodeBatchItemNotApplied)
		if b := f.MustBalance(t, "employer"); b.Posted != 950_000 {
			t.Errorf("employer = %d: the refused atomic batch posted something", b.Posted)
		}
		// In order: an item may spend what an earlier one brought.
		results, err = f.SubmitBatch(ctx, ledger.SubmitBatchRequest{Atomic: true, Items: []ledger.BatchItem{
			transfer("b-1", "employer", "poor", 5_000),
			transfer("b-2", "poor", "emp-4", 5_010),
		}})
		if err != nil || results[0].Err != nil || results[1].Err != nil {
			t.Fatalf("atomic chain: %+v, %v", results, err)
		}
		if b := f.MustBalance(t, "poor"); b.Posted != 0 {
			t.Errorf("poor = %d, want 0", b.Posted)
		}
		// A replay of an atomic batch gives the same entries.
		again, err := f.SubmitBatch(ctx, ledger.SubmitBatchRequest{Atomic: true, Items: []ledger.BatchItem{
			transfer("b-1", "employer", "poor", 5_000),
			transfer("b-2", "poor", "emp-4", 5_010),
		}})
		if err != nil || again[0].Entry.ID != results[0].Entry.ID || again[1].Entry.ID != results[1].Entry.ID {
			t.Errorf("replay of an atomic batch: %+v, %v", again, err)
		}
	})
	t.Run("InvalidItems", func(t *testing.T) {
		results, err := f.SubmitBatch(ctx, ledger.SubmitBatchRequest{Items: []ledger.BatchItem{
			transfer("c-1", "employer", "emp-5", 100),
			transfer("c-1", "employer", "emp-6", 100), // the same id again
			transfer("c-3", "employer", "employer", 100),
			{},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if results[0].Err != nil {
			t.Errorf("item 0: %v", results[0].Err)
		}
		for i := 1; i < 4; i++ {
			AssertCode(t, results[i].Err, ledger.CodeInvalidArgument)
		}
	})
	t.Run("ErrTooMany", func(t *testing.T) {
		_, err := f.SubmitBatch(ctx, ledger.SubmitBatchRequest{Items: make([]ledger.BatchItem, ledger.MaxBatchItems+1)})
		AssertCode(t, err, ledger.CodeInvalidArgument)
	})
	f.AssertBooksBalance(t)
}
