package cockroach_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// TestSetAccountStatus freezes, reactivates and closes an account: each
// change is journaled with its actor and reason, a replay changes nothing
// twice, a frozen account refuses postings, and a closed one stays closed.
func TestSetAccountStatus(t *testing.T) {
	ctx := ledger.WithActor(context.Background(), "operator/kim")
	f := MustOpenStore(t, cockroach.Options{})
	f.MustOpen(t, "alice", 1_000)
	f.MustOpen(t, "bob", 0)
	f.MustOpen(t, "carol", 0)
	set := func(rid string, st ledger.Status, reason string) (ledger.Account, error) {
		return f.SetAccountStatus(ctx, ledger.SetAccountStatusRequest{RequestID: rid, AccountID: "alice", Status: st, Reason: reason})
	}
	a, err := set("s1", ledger.StatusFrozen, "court order 7")
	if err != nil || a.Status != ledger.StatusFrozen {
		t.Fatalf("freeze: %+v, %v", a, err)
	}
	if again, err := set("s1", ledger.StatusFrozen, "court order 7"); err != nil || again != a {
		t.Errorf("replay: %+v, %v", again, err)
	}
	_, err = set("s1", ledger.StatusClosed, "court order 7")
	AssertCode(t, err, ledger.CodeIdempotencyConflict)
	// A request id is the caller's own: another operator's s1 is a request
	// of its own, not a replay of kim's.
	lee := ledger.WithActor(context.Background(), "operator/lee")
	if b, err := f.SetAccountStatus(lee, ledger.SetAccountStatusRequest{RequestID: "s1", AccountID: "carol", Status: ledger.StatusFrozen, Reason: "audit"}); err != nil || b.ID != "carol" || b.Status != ledger.StatusFrozen {
		t.Fatalf("another operator's s1: %+v, %v", b, err)
	}
	_, err = f.Transfer(ctx, ledger.TransferRequest{RequestID: "t1", From: "alice", To: "bob", Amount: 10, Currency: "KRW"})
	AssertCode(t, err, ledger.CodeAccountFrozen)
	if _, err := set("s2", ledger.StatusFrozen, "still"); err != nil { // no change: nothing journaled
		t.Fatal(err)
	}
	if _, err := set("s3", ledger.StatusActive, "order lifted"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: "t2", From: "alice", To: "bob", Amount: 10, Currency: "KRW"}); err != nil {
		t.Fatal(err)
	}
	if _, err := set("s4", ledger.StatusClosed, "customer left"); err != nil {
		t.Fatal(err)
	}
	_, err = set("s5", ledger.StatusActive, "changed our mind")
	AssertCode(t, err, ledger.CodeAccountClosed)
	_, err = f.SetAccountStatus(ctx, ledger.SetAccountStatusRequest{RequestID: "s6", AccountID: "nobody", Status: ledger.StatusFrozen, Reason: "x"})
	AssertCode(t, err, ledger.CodeAccountNotFound)
	_, err = f.SetAccountStatus(ctx, ledger.SetAccountStatusRequest{RequestID: "s7", AccountID: ledger.VaultAccountID("KRW"), Status: ledger.StatusFrozen, Reason: "x"})
	AssertCode(t, err, ledger.CodeInvalidArgument)

	f.MustSealAll(t, f.MustSealer(t, cockroach.SealerOptions{}))
	var changes []string
	for _, r := range f.MustListJournal(t, 0) {
		if r.Entry.Kind == ledger.EntryAccountStatusChange {
			if len(r.Entry.Postings) != 0 {
				t.Errorf("record %d: %+v", r.Sequence, r.Entry)
			}
			changes = append(changes, string(r.Entry.Actor)+" "+r.Entry.RequestID+": "+r.Entry.Memo)
		}
	}
	slices.Sort(changes) // entries of one instant are sealed in id order
	want := []string{"operator/kim s1: account alice FROZEN, was ACTIVE: court order 7",
		"operator/kim s3: account alice ACTIVE, was FROZEN: order lifted",
		"operator/kim s4: account alice CLOSED, was ACTIVE: customer left",
		"operator/lee s1: account carol FROZEN, was ACTIVE: audit"}
	if strings.Join(changes, "\n") != strings.Join(want, "\n") {
		t.Errorf("journaled changes:\n%s\nwant\n%s", strings.Join(changes, "\n"), strings.Join(want, "\n"))
	}
	f.AssertBooksBalance(t)
}

// TestJournalRecordsTheLedgersOwnActs: a promotion's creation and the
// accounts the ledger opens for itself are in the journal, by their actors.
func TestJournalRecordsTheLedgersOwnActs(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	f.MustOpen(t, "alice", 1_000)
	if _, err := f.Withdraw(ctx, ledger.WithdrawRequest{RequestID: "w1", AccountID: "alice", Amount: 100, Currency: "KRW", ATMID: "atm-9"}); err != nil {
		t.Fatal(err)
	}
	p := f.MustCreatePromo(t, "special", 100_000, 10_000)
	f.MustSealAll(t, f.MustSealer(t, cockroach.SealerOptions{}))
	opened := map[string]bool{}
	var promo *ledger.Entry
	for _, r := range f.MustListJournal(t, 0) {
		e := r.Entry
		switch {
		case e.Kind == ledger.EntryAccountOpening && e.Actor == ledger.SystemActor:
			opened[strings.Fields(e.Memo)[1]] = true
		case e.Kind == ledger.EntryPromoCreation:
			promo = &e
		}
	}
	for _, id := range []string{ledger.VaultAccountID("KRW"), ledger.ATMAccountID("atm-9", "KRW")} {
		if !opened[id] {
			t.Errorf("no journaled opening of %s by the ledger (%v)", id, opened)
		}
	}
	if promo == nil || promo.RequestID != "create-special" ||
		!strings.HasPrefix(promo.Memo, "promo special in KRW: quota 100000, at most 10000 a customer, 500 bps, on sale "+p.OpensAt.Format("2006-01-02T15:04:05Z07:00")) {
		t.Errorf("promo creation record = %+v", promo)
	}
}
