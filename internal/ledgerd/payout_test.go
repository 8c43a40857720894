package ledgerd_test

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// The example, end to end: a promo with a 60 s term at 500 bps and
// 1540 withholding. A subscription of 10^12 KRW comes back by itself once
// it matures, as principal + 95,129 - 14,649; another, cancelled after five
// seconds, comes back at once with the early rate's interest. Both are on
// the customers' statements and in the sealed journal. The server's clock
// is the test's, so the minute passes at once.
func TestDepositPaysWhatItPromised(t *testing.T) {
	ctx := t.Context()
	url := pgtest.NewDatabase(t)
	db := openPool(t, url)
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	m, err := ledgerd.Run(ctx, ledgerd.Config{
		DatabaseURL: url, Listen: "127.0.0.1:0", AdminListen: "-", Plaintext: true, Now: now,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		Sealer: ledgerd.SealerConfig{Interval: 10 * time.Millisecond},
		Payer:  ledgerd.PayerConfig{Interval: 20 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	c := dial(t, m.Server.Addr())

	const principal, opening = 1_000_000_000_000, 1_000_000_000_500
	for _, id := range []string{"keeper", "canceller"} {
		if _, err := c.acct.OpenAccount(ctx, &ledgerv1.OpenAccountRequest{RequestId: "open-" + id, AccountId: id,
			CustomerId: "cust-" + id, Currency: "KRW", Kind: ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.pay.Deposit(ctx, &ledgerv1.DepositRequest{RequestId: "dep-" + id, AccountId: id, Amount: opening,
			Currency: "KRW"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.promo.CreatePromo(ctx, &ledgerv1.CreatePromoRequest{RequestId: "create", PromoId: "special",
		Currency: "KRW", TotalQuota: 2 * principal, MaxPerCustomer: principal, AnnualRateBps: 500, EarlyRateBps: 100,
		WithholdingBps: 1540, Term: durationpb.New(time.Minute), OpensAt: timestamppb.New(now().Add(-time.Minute)),
		ClosesAt: timestamppb.New(now().Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"keeper", "canceller"} {
		if _, err := c.promo.Subscribe(ctx, &ledgerv1.SubscribeRequest{RequestId: "sub-" + id, PromoId: "special",
			CustomerId: "cust-" + id, FromAccountId: id, Amount: principal}); err != nil {
			t.Fatal(err)
		}
	}

	clock.Add(int64(5 * time.Second))
	res, err := c.promo.CancelSubscription(ctx, &ledgerv1.CancelSubscriptionRequest{RequestId: "cancel",
		PromoId: "special", CustomerId: "cust-canceller"})
	if err != nil {
		t.Fatal(err)
	}
	early := ledger.PayoutFor(principal, 100, 1540, 5*time.Second)
	sub := res.GetSubscription()
	if early.Interest != 1_585 || sub.GetStatus() != ledgerv1.SubscriptionStatus_SUBSCRIPTION_STATUS_CANCELLED ||
		sub.GetInterest() != early.Interest || sub.GetTax() != early.Tax ||
		sub.GetPayoutEntry().GetKind() != ledgerv1.EntryKind_ENTRY_KIND_PROMO_CANCELLATION {
		t.Fatalf("cancelled: %v (early interest %d)", sub, early.Interest)
	}
	assertLastLine(t, c, "canceller", ledgerv1.EntryKind_ENTRY_KIND_PROMO_CANCELLATION, early.Net(), opening-principal+early.Net())

	clock.Add(int64(55 * time.Second)) // the keeper's subscription matures
	deadline := time.Now().Add(time.Minute)
	for {
		b, err := c.acct.GetBalance(ctx, &ledgerv1.GetBalanceRequest{AccountId: "keeper"})
		if err != nil {
			t.Fatal(err)
		}
		if b.GetBalance().GetPosted() != opening-principal {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the matured subscription was not paid within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	assertLastLine(t, c, "keeper", ledgerv1.EntryKind_ENTRY_KIND_PROMO_PAYOUT, principal+95_129-14_649, opening+95_129-14_649)

	waitSealed(t, db)
	var kinds []string
	rows, err := db.Query(ctx, `SELECT e.kind FROM journal AS j JOIN entries AS e ON e.entry_id = j.entry_id
		WHERE e.kind IN ('PROMO_PAYOUT', 'PROMO_CANCELLATION') ORDER BY j.sequence`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, k)
	}
	if len(kinds) != 2 || kinds[0] != "PROMO_CANCELLATION" || kinds[1] != "PROMO_PAYOUT" {
		t.Fatalf("the journal's payouts: %v", kinds)
	}
	if v, err := c.audit.VerifyJournal(ctx, &ledgerv1.VerifyJournalRequest{}); err != nil || !v.GetOk() {
		t.Fatalf("VerifyJournal = %v, %v", v, err)
	}
}

// assertLastLine checks the last line of account's statement and its
// balance.
func assertLastLine(t *testing.T, c *client, account string, kind ledgerv1.EntryKind, amount, balance int64) {
	t.Helper()
	page, err := c.acct.ListEntries(t.Context(), &ledgerv1.ListEntriesRequest{AccountId: account, PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.GetLines()) != 1 {
		t.Fatalf("%s's statement: %v", account, page)
	}
	if l := page.GetLines()[0]; l.GetKind() != kind || l.GetAmount() != amount || l.GetBalanceAfter() != balance {
		t.Fatalf("%s's last line: %v; want %v of %d, balance %d", account, l, kind, amount, balance)
	}
}
