package cockroach_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// MustCreateDeposit creates a promo of the example: a 60 s term at
// 5%, 1% on early cancellation, 15.4% withheld.
func (f *fixture) MustCreateDeposit(tb testing.TB, id string, quota, perCustomer int64) ledger.PromoStatus {
	tb.Helper()
	now := f.clock.Now()
	p, err := f.CreatePromo(context.Background(), ledger.CreatePromoRequest{
		RequestID: "create-" + id, PromoID: id, Currency: "KRW", TotalQuota: quota, MaxPerCustomer: perCustomer,
		AnnualRateBps: 500, OpensAt: now, ClosesAt: now.Add(time.Hour), Term: time.Minute, EarlyRateBps: 100,
		WithholdingBps: 1540,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func (f *fixture) mustSubscription(tb testing.TB, promo, customer string) ledger.Subscription {
	tb.Helper()
	subs, err := f.ListSubscriptions(context.Background(), ledger.SubscriptionQuery{PromoID: promo, After: customer[:len(customer)-1]})
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range subs {
		if s.CustomerID == customer {
			return s
		}
	}
	tb.Fatalf("no subscription of %s to %s", customer, promo)
	return ledger.Subscription{}
}

// The figures: 10^12 KRW for 60 s at 5% pays 95,129 of interest,
// less 14,649 of tax, by itself once it matures, once.
func TestPayoutAtMaturity(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	const principal = 1_000_000_000_000
	f.MustOpenFor(t, "saver", "cust-saver", principal+5)
	f.MustCreateDeposit(t, "special", 10*principal, principal)
	sub, err := f.Subscribe(ctx, ledger.SubscribeRequest{RequestID: "s1", PromoID: "special", CustomerID: "cust-saver",
		FromAccount: "saver", Amount: principal})
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clock.Now().UTC().Truncate(time.Microsecond).Add(time.Minute); !sub.MaturesAt.Equal(want) || sub.Status != ledger.SubscriptionActive {
		t.Fatalf("subscription matures at %v (%v), want %v, active", sub.MaturesAt, sub.Status, want)
	}
	payer := cockroach.NewPayer(f.Store, cockroach.PayerOptions{})
	f.clock.Advance(59 * time.Second)
	if res, err := payer.PayOnce(ctx); err != nil || !res.Leader || res.Paid != 0 {
		t.Fatalf("before maturity: %+v, %v", res, err)
	}
	f.clock.Advance(time.Second)
	res, err := payer.PayOnce(ctx)
	if err != nil || res.Paid != 1 {
		t.Fatalf("at maturity: %+v, %v", res, err)
	}
	if b := f.MustBalance(t, "saver"); b.Posted != principal+5+95_129-14_649 {
		t.Fatalf("saver holds %d, want principal + 95,129 - 14,649 + 5", b.Posted)
	}
	for id, want := range map[string]int64{sub.AccountID: 0, ledger.InterestExpenseAccountID("KRW"): -95_129,
		ledger.TaxPayableAccountID("KRW"): 14_649} {
		if b := f.MustBalance(t, id); b.Posted != want {
			t.Errorf("%s holds %d, want %d", id, b.Posted, want)
		}
	}
	got := f.mustSubscription(t, "special", "cust-saver")
	if got.Status != ledger.SubscriptionMatured || got.Interest != 95_129 || got.Tax != 14_649 || got.PayoutEntryID == "" {
		t.Fatalf("paid subscription = %+v", got)
	}
	page, err := f.ListEntries(ctx, ledger.StatementQuery{AccountID: "saver"})
	if err != nil || len(page.Lines) == 0 {
		t.Fatal(page, err)
	}
	if l := page.Lines[0]; l.EntryID != got.PayoutEntryID || l.Kind != ledger.EntryPromoPayout || l.Amount != principal+95_129-14_649 {
		t.Fatalf("the statement's last line = %+v, want the payout %s", l, got.PayoutEntryID)
	}
	f.clock.Advance(time.Hour)
	if res, err := payer.PayOnce(ctx); err != nil || res.Paid != 0 {
		t.Fatalf("paid twice: %+v, %v", res, err)
	}
	_, err = f.CancelSubscription(ctx, ledger.CancelSubscriptionRequest{RequestID: "c1", PromoID: "special", CustomerID: "cust-saver"})
	AssertCode(t, err, ledger.CodeSubscriptionMatured)
	f.AssertBooksBalance(t)
}

func TestCancelSubscription(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	const principal = 1_000_000_000_000
	f.MustOpenFor(t, "a1", "c1", principal)
	f.MustOpenFor(t, "a2", "c2", principal)
	f.MustCreateDeposit(t, "special", 2*principal, principal)
	for _, c := range []string{"1", "2"} {
		if _, err := f.Subscribe(ctx, ledger.SubscribeRequest{RequestID: "s" + c, PromoID: "special", CustomerID: "c" + c,
			FromAccount: "a" + c, Amount: principal}); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(7*time.Second + 500*time.Millisecond)
	req := ledger.CancelSubscriptionRequest{RequestID: "cancel-1", PromoID: "special", CustomerID: "c1"}
	sub, err := f.CancelSubscription(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	interest := ledger.Interest(principal, 100, 7) // the early rate, whole seconds
	tax := ledger.Withholding(interest, 1540)
	if interest != 2_219 || sub.Status != ledger.SubscriptionCancelled || sub.Interest != interest || sub.Tax != tax ||
		sub.PayoutEntry == nil || sub.PayoutEntry.Kind != ledger.EntryPromoCancellation {
		t.Fatalf("cancelled = %+v (interest %d)", sub, interest)
	}
	if b := f.MustBalance(t, "a1"); b.Posted != principal+interest-tax {
		t.Fatalf("a1 holds %d, want %d", b.Posted, principal+interest-tax)
	}
	t.Run("Replay", func(t *testing.T) {
		again, err := f.CancelSubscription(ctx, req)
		if err != nil || again.PayoutEntryID != sub.PayoutEntryID {
			t.Fatalf("replay = %+v, %v", again, err)
		}
	})
	t.Run("ErrSubscriptionCancelled", func(t *testing.T) {
		_, err := f.CancelSubscription(ctx, ledger.CancelSubscriptionRequest{RequestID: "cancel-1b", PromoID: "special", CustomerID: "c1"})
		AssertCode(t, err, ledger.CodeSubscriptionCancelled)
	})
	t.Run("ErrSubscriptionNotFound", func(t *testing.T) {
		_, err := f.CancelSubscription(ctx, ledger.CancelSubscriptionRequest{RequestID: "cancel-x", PromoID: "special", CustomerID: "c9"})
		AssertCode(t, err, ledger.CodeSubscriptionNotFound)
	})
	t.Run("QuotaNotGivenBack", func(t *testing.T) {
		st, err := f.GetPromo(ctx, "special")
		if err != nil || !st.SoldOut() {
			t.Fatalf("promo after a cancellation = %+v, %v; want still sold out", st, err)
		}
	})
	t.Run("PayerPaysOnlyTheOther", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		res, err := cockroach.NewPayer(f.Store, cockroach.PayerOptions{}).PayOnce(ctx)
		if err != nil || res.Paid != 1 {
			t.Fatalf("payout = %+v, %v", res, err)
		}
		if b := f.MustBalance(t, "a1"); b.Posted != principal+interest-tax {
			t.Fatalf("a cancelled subscription was paid again: a1 holds %d", b.Posted)
		}
	})
	f.AssertBooksBalance(t)
}

// Two payers on one database: one holds the lease and pays; racing
// payers and cancellations never pay a subscription twice.
func TestPayersRace(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	const n, amount = 300, 1_000_000_000_000
	for i := range n {
		f.MustOpenFor(t, fmt.Sprintf("a%03d", i), fmt.Sprintf("c%03d", i), amount)
	}
	f.MustCreateDeposit(t, "special", n*amount, amount)
	for i := range n {
		if _, err := f.Subscribe(ctx, ledger.SubscribeRequest{RequestID: fmt.Sprintf("s%03d", i), PromoID: "special",
			CustomerID: fmt.Sprintf("c%03d", i), FromAccount: fmt.Sprintf("a%03d", i), Amount: amount}); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(59 * time.Second)
	one := cockroach.NewPayer(f.Store, cockroach.PayerOptions{Batch: 50})
	two := cockroach.NewPayer(f.Store, cockroach.PayerOptions{Batch: 50})
	if res, err := one.PayOnce(ctx); err != nil || !res.Leader {
		t.Fatalf("first payer: %+v, %v", res, err)
	}
	if res, err := two.PayOnce(ctx); err != nil || res.Leader {
		t.Fatalf("second payer took a lease the first holds: %+v, %v", res, err)
	}
	// Cancel a tenth just before maturity.
	f.clock.Advance(time.Second - time.Millisecond)
	var wg sync.WaitGroup
	cancelled := make([]bool, n)
	for i := 0; i < n; i += 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.CancelSubscription(ctx, ledger.CancelSubscriptionRequest{RequestID: fmt.Sprintf("c%03d", i),
				PromoID: "special", CustomerID: fmt.Sprintf("c%03d", i)})
			cancelled[i] = err == nil
			if err != nil {
				t.Errorf("cancel %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	f.clock.Advance(time.Millisecond)
	paid := 0
	for range 2 * n / 50 { // both payers, many times over what is due
		for _, p := range []*cockroach.Payer{one, two} {
			res, err := p.PayOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			paid += res.Paid
		}
	}
	if paid != n-n/10 {
		t.Fatalf("paid %d, want %d", paid, n-n/10)
	}
	for i := range n {
		b := f.MustBalance(t, fmt.Sprintf("a%03d", i))
		interest := int64(0)
		if !cancelled[i] {
			interest = ledger.Interest(amount, 500, 60) - ledger.Withholding(ledger.Interest(amount, 500, 60), 1540)
		} else {
			interest = ledger.Interest(amount, 100, 59) - ledger.Withholding(ledger.Interest(amount, 100, 59), 1540)
		}
		if b.Posted != amount+interest {
			t.Errorf("a%03d holds %d, want %d", i, b.Posted, amount+interest)
		}
	}
	f.AssertBooksBalance(t)
}
