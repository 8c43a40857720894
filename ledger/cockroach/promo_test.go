package cockroach_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

func (f *fixture) MustCreatePromo(tb testing.TB, id string, quota, perCustomer int64) ledger.PromoStatus {
	tb.Helper()
	now := f.clock.Now()
	p, err := f.CreatePromo(context.Background(), ledger.CreatePromoRequest{
		RequestID: "create-" + id, PromoID: id, Currency: "KRW", TotalQuota: quota, MaxPerCustomer: perCustomer,
		AnnualRateBps: 500, OpensAt: now, ClosesAt: now.Add(time.Hour), Term: time.Hour,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestPromoStampede runs thousands of concurrent subscriptions, from many
// customers, some sending a second request and some replaying theirs,
// against a quota far smaller than the demand, and proves: never oversold,
// one subscription per customer, every acknowledged subscription's money in
// its promo account, and the books still balance.
func TestPromoStampede(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	const customers, quota, perCustomer, start = 500, 100_000, 5_000, 10_000
	for i := range customers {
		f.MustOpenFor(t, fmt.Sprintf("acct-%03d", i), fmt.Sprintf("cust-%03d", i), start)
	}
	f.MustCreatePromo(t, "special", quota, perCustomer)

	type call struct {
		req ledger.SubscribeRequest
		sub ledger.Subscription
		err error
	}
	var calls []*call
	r := rand.New(rand.NewPCG(1, 2))
	for i := range customers {
		req := ledger.SubscribeRequest{RequestID: fmt.Sprintf("sub-%03d", i), PromoID: "special",
			CustomerID: fmt.Sprintf("cust-%03d", i), FromAccount: fmt.Sprintf("acct-%03d", i), Amount: int64(1_000 + r.IntN(4_001))}
		for range 1 + r.IntN(7) { // the same request, replayed
			calls = append(calls, &call{req: req})
		}
		if r.IntN(3) == 0 { // a second, different request from the same customer
			again := req
			again.RequestID += "-again"
			calls = append(calls, &call{req: again})
		}
	}
	r.Shuffle(len(calls), func(i, j int) { calls[i], calls[j] = calls[j], calls[i] })

	var wg sync.WaitGroup
	work := make(chan *call)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				c.sub, c.err = f.Subscribe(ctx, c.req)
			}
		}()
	}
	for _, c := range calls {
		work <- c
	}
	close(work)
	wg.Wait()

	// What the callers were told.
	acked := map[string]ledger.Subscription{} // customer -> subscription
	outcomes := map[ledger.Code]int{}
	for _, c := range calls {
		outcomes[ledger.ErrorCode(c.err)]++
		switch ledger.ErrorCode(c.err) {
		case "":
			if prev, ok := acked[c.req.CustomerID]; ok && (prev.AccountID != c.sub.AccountID || prev.Entry.ID != c.sub.Entry.ID) {
				t.Fatalf("customer %s acknowledged twice: %+v and %+v", c.req.CustomerID, prev, c.sub)
			}
			acked[c.req.CustomerID] = c.sub
		case ledger.CodePromoSoldOut, ledger.CodePromoAlreadySubscribed:
		default:
			t.Fatalf("%s: %v", c.req.RequestID, c.err)
		}
	}
	t.Logf("%d calls: %v; %d subscriptions", len(calls), outcomes, len(acked))

	// What the database holds.
	var subscribed, used, rows int64
	if err := f.pool.QueryRow(ctx, `SELECT CAST(COALESCE(SUM(amount), 0) AS INT8), count(*) FROM subscriptions WHERE promo_id = 'special'`).Scan(&subscribed, &rows); err != nil {
		t.Fatal(err)
	}
	if err := f.pool.QueryRow(ctx, `SELECT CAST(SUM(used) AS INT8) FROM promo_quota WHERE promo_id = 'special'`).Scan(&used); err != nil {
		t.Fatal(err)
	}
	if subscribed > quota || used != subscribed || rows != int64(len(acked)) {
		t.Fatalf("subscribed %d in %d rows, quota used %d, acknowledged %d customers; quota %d", subscribed, rows, used, len(acked), quota)
	}
	if subscribed < quota-perCustomer {
		t.Fatalf("only %d of %d sold while demand was far larger", subscribed, quota)
	}
	for cust, sub := range acked {
		if b := f.MustBalance(t, sub.AccountID); b.Posted != sub.Amount {
			t.Errorf("%s: promo account holds %d, acknowledged %d", cust, b.Posted, sub.Amount)
		}
		if b := f.MustBalance(t, "acct-"+cust[5:]); b.Posted != start-sub.Amount {
			t.Errorf("%s: paid %d, acknowledged %d", cust, start-b.Posted, sub.Amount)
		}
	}
	f.AssertBooksBalance(t)

	// Sold out: learnt, and answered from memory without touching the
	// database; a replay of an acknowledged request still gets its result.
	if st, err := f.GetPromo(ctx, "special"); err != nil || st.Subscribed != subscribed || st.Remaining() != quota-subscribed {
		t.Fatalf("GetPromo after the stampede = %+v, %v; want %d subscribed", st, err, subscribed)
	}
	f.MustOpenFor(t, "acct-late", "cust-late", start)
	if _, err := f.Subscribe(ctx, ledger.SubscribeRequest{RequestID: "late", PromoID: "special", CustomerID: "cust-late",
		FromAccount: "acct-late", Amount: quota - subscribed + 1}); ledger.ErrorCode(err) != ledger.CodePromoSoldOut {
		t.Fatalf("late subscription: %v", err)
	}
	for _, c := range calls {
		if c.err == nil {
			again, err := f.Subscribe(ctx, c.req)
			if err != nil || again.Entry.ID != c.sub.Entry.ID {
				t.Fatalf("replay of %s after the stampede = %+v, %v; want entry %s", c.req.RequestID, again, err, c.sub.Entry.ID)
			}
			break
		}
	}
}

func TestPromoSoldOutFromMemory(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	f.MustOpenFor(t, "a1", "c1", 10_000)
	f.MustOpenFor(t, "a2", "c2", 10_000)
	f.MustCreatePromo(t, "tiny", 3_000, 3_000)
	first, err := f.Subscribe(ctx, ledger.SubscribeRequest{RequestID: "s1", PromoID: "tiny", CustomerID: "c1", FromAccount: "a1", Amount: 3_000})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Subscribe(ctx, ledger.SubscribeRequest{RequestID: "s2", PromoID: "tiny", CustomerID: "c2", FromAccount: "a2", Amount: 1})
	AssertCode(t, err, ledger.CodePromoSoldOut)

	before := f.pool.Stat().AcquireCount()
	for i := range 100 {
		_, err = f.Subscribe(ctx, ledger.SubscribeRequest{RequestID: fmt.Sprintf("s-%d", i), PromoID: "tiny", CustomerID: "c2", FromAccount: "a2", Amount: 1})
		AssertCode(t, err, ledger.CodePromoSoldOut)
		if st, err := f.GetPromo(ctx, "tiny"); err != nil || !st.SoldOut() {
			t.Fatalf("GetPromo = %+v, %v", st, err)
		}
	}
	if n := f.pool.Stat().AcquireCount() - before; n != 0 {
		t.Fatalf("sold-out answers took %d database connections, want none", n)
	}
	// The subscriber's retry is still answered with its subscription.
	again, err := f.Subscribe(ctx, ledger.SubscribeRequest{RequestID: "s1", PromoID: "tiny", CustomerID: "c1", FromAccount: "a1", Amount: 3_000})
	if err != nil || again.Entry.ID != first.Entry.ID {
		t.Fatalf("replay after sold out = %+v, %v", again, err)
	}
}

func TestPromoRules(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	f.MustOpenFor(t, "a1", "c1", 100_000)
	f.MustOpenFor(t, "a2", "c2", 100_000)
	f.MustCreatePromo(t, "p", 10_000, 4_000)
	sub := func(rid, cust, acct string, amount int64, partial bool) (ledger.Subscription, error) {
		return f.Subscribe(ctx, ledger.SubscribeRequest{RequestID: rid, PromoID: "p", CustomerID: cust, FromAccount: acct, Amount: amount, AllowPartial: partial})
	}
	t.Run("ErrPromoLimitExceeded", func(t *testing.T) {
		_, err := sub("r1", "c1", "a1", 4_001, false)
		AssertCode(t, err, ledger.CodePromoLimitExceeded)
	})
	t.Run("ErrNotTheCustomersAccount", func(t *testing.T) {
		_, err := sub("r2", "c1", "a2", 1_000, false)
		AssertCode(t, err, ledger.CodeInvalidArgument)
	})
	t.Run("ErrPromoAlreadySubscribed", func(t *testing.T) {
		if _, err := sub("r3", "c1", "a1", 4_000, false); err != nil {
			t.Fatal(err)
		}
		_, err := sub("r4", "c1", "a1", 1_000, false)
		AssertCode(t, err, ledger.CodePromoAlreadySubscribed)
	})
	t.Run("ErrInsufficientFunds", func(t *testing.T) {
		f.MustOpenFor(t, "a3", "c3", 100)
		_, err := sub("r5", "c3", "a3", 1_000, false)
		AssertCode(t, err, ledger.CodeInsufficientFunds)
	})
	t.Run("PartialWhenAllowed", func(t *testing.T) {
		for i, c := range []string{"c4", "c5"} {
			f.MustOpenFor(t, "a"+c, c, 100_000)
			if _, err := sub(fmt.Sprintf("r6-%d", i), c, "a"+c, 2_500, false); err != nil { // 4000+2500+2500 = 9000 of 10000
				t.Fatal(err)
			}
		}
		f.MustOpenFor(t, "ac6", "c6", 100_000)
		_, err := sub("r7", "c6", "ac6", 2_000, false)
		AssertCode(t, err, ledger.CodePromoSoldOut)
		s, err := sub("r8", "c6", "ac6", 2_000, true)
		if err != nil || s.Amount != 1_000 {
			t.Fatalf("partial subscription = %+v, %v; want 1000", s, err)
		}
		if b := f.MustBalance(t, "ac6"); b.Posted != 99_000 {
			t.Fatalf("partial subscriber paid %d, want 1000", 100_000-b.Posted)
		}
	})
	t.Run("Window", func(t *testing.T) {
		now := f.clock.Now()
		if _, err := f.CreatePromo(ctx, ledger.CreatePromoRequest{RequestID: "cw", PromoID: "later", Currency: "KRW",
			TotalQuota: 1_000, MaxPerCustomer: 1_000, OpensAt: now.Add(time.Minute), ClosesAt: now.Add(2 * time.Minute),
			Term: time.Hour}); err != nil {
			t.Fatal(err)
		}
		req := ledger.SubscribeRequest{RequestID: "w1", PromoID: "later", CustomerID: "c2", FromAccount: "a2", Amount: 10}
		_, err := f.Subscribe(ctx, req)
		AssertCode(t, err, ledger.CodePromoNotOpen)
		f.clock.Advance(2 * time.Minute)
		_, err = f.Subscribe(ctx, req)
		AssertCode(t, err, ledger.CodePromoClosed)
	})
	t.Run("ErrPromoNotFound", func(t *testing.T) {
		_, err := f.GetPromo(ctx, "nope")
		AssertCode(t, err, ledger.CodePromoNotFound)
	})
	f.AssertBooksBalance(t)
}
