package storm

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

const (
	currency = "KRW"
	// openingBalance is far more than a run can spend.
	openingBalance = 1_000_000_000_000
	// subscription is what each customer asks to put in the promo, its
	// per-customer maximum.
	subscription = 1_000_000
	// setupWorkers open and fund the accounts concurrently.
	setupWorkers = 16
	// setupTimeout bounds each setup call.
	setupTimeout = 30 * time.Second
	// atms is how many ATMs pay cash out.
	atms = 8
)

// world is the data a run works on.
type world struct {
	prefix   string   // unique to the run, so a shared server can be stormed again
	accounts []string // account i belongs to customer customers[i]
	promoID  string
}

func (w *world) customer(i int) string { return w.prefix + "-cust-" + fmt.Sprint(i) }

// setup opens and funds the customers' accounts, creates the promo and
// warms each call path up, so that the baseline measures steady state.
func setup(ctx context.Context, t *target, cfg Config) (*world, error) {
	w := &world{prefix: "storm-" + uuid.NewString()[:8]}
	w.promoID = w.prefix + "-special"
	w.accounts = make([]string, cfg.Accounts)
	for i := range w.accounts {
		w.accounts[i] = fmt.Sprintf("%s-acct-%d", w.prefix, i)
	}
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(setupWorkers)
	for i := range w.accounts {
		g.Go(func() error { return w.open(gctx, t, i) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	cfg.Logf("opened and funded %d accounts in %v", len(w.accounts), time.Since(start).Round(time.Millisecond))

	now := time.Now()
	promos := ledgerv1.NewPromoServiceClient(t.admin) // operators create promos
	if _, err := withTimeout(ctx, func(ctx context.Context) (*ledgerv1.CreatePromoResponse, error) {
		return promos.CreatePromo(ctx, &ledgerv1.CreatePromoRequest{
			RequestId: uuid.NewString(), PromoId: w.promoID, Currency: currency,
			TotalQuota: int64(cfg.PromoQuota) * subscription, MaxPerCustomer: subscription, AnnualRateBps: 500,
			OpensAt: timestamppb.New(now.Add(-time.Minute)), ClosesAt: timestamppb.New(now.Add(time.Hour)),
			Term: durationpb.New(365 * 24 * time.Hour),
		})
	}); err != nil {
		return nil, fmt.Errorf("create promo: %w", err)
	}
	if err := w.warm(ctx, t); err != nil {
		return nil, err
	}
	return w, waitSealed(ctx, t, cfg)
}

// waitSealed waits, on an in-process ledgerd, until its journal sealer has
// sealed the setup's entries, so that the baseline measures routine traffic
// beside a sealer that keeps up, not beside one catching up on thousands of
// account openings.
func waitSealed(ctx context.Context, t *target, cfg Config) error {
	if t.sealer == nil {
		return nil
	}
	start := time.Now()
	if err := t.sealer.WaitSealed(ctx, 50*time.Millisecond); err != nil {
		return fmt.Errorf("journal backlog: %w", err)
	}
	cfg.Logf("sealed the setup's entries in %v", time.Since(start).Round(time.Millisecond))
	return nil
}

// open opens and funds account i. A call refused for contention is
// replayed with the same request id, so it takes effect once.
func (w *world) open(ctx context.Context, t *target, i int) error {
	conn := t.conn(Routine, int64(i))
	acc, pay := ledgerv1.NewAccountServiceClient(conn), ledgerv1.NewPaymentServiceClient(conn)
	openReq := &ledgerv1.OpenAccountRequest{RequestId: uuid.NewString(), AccountId: w.accounts[i],
		CustomerId: w.customer(i), Currency: currency, Kind: ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER}
	if _, err := retryAdvised(ctx, func(ctx context.Context) (*ledgerv1.OpenAccountResponse, error) {
		return acc.OpenAccount(ctx, openReq)
	}); err != nil {
		return fmt.Errorf("open account %s: %w", w.accounts[i], err)
	}
	depositReq := &ledgerv1.DepositRequest{RequestId: uuid.NewString(), AccountId: w.accounts[i],
		Amount: openingBalance, Currency: currency, Memo: "storm opening balance"}
	if _, err := retryAdvised(ctx, func(ctx context.Context) (*ledgerv1.DepositResponse, error) {
		return pay.Deposit(ctx, depositReq)
	}); err != nil {
		return fmt.Errorf("fund account %s: %w", w.accounts[i], err)
	}
	return nil
}

// warm runs each routine and teller operation a few times, and reads the
// promo once, before anything is measured.
func (w *world) warm(ctx context.Context, t *target) error {
	for i := range 10 {
		for _, op := range []operation{w.transfer, w.withdraw, w.holdCapture, w.balance} {
			if _, err := withTimeout(ctx, func(ctx context.Context) (struct{}, error) {
				return struct{}{}, op(ctx, t, int64(i))
			}); err != nil {
				return fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	promos := ledgerv1.NewPromoServiceClient(t.conn(Promo, 0))
	_, err := withTimeout(ctx, func(ctx context.Context) (*ledgerv1.GetPromoResponse, error) {
		return promos.GetPromo(ctx, &ledgerv1.GetPromoRequest{PromoId: w.promoID})
	})
	return err
}

// soldCount returns how much of the promo's quota, in subscriptions, was sold.
func (w *world) soldCount(ctx context.Context, t *target) (int64, error) {
	promos := ledgerv1.NewPromoServiceClient(t.admin)
	resp, err := retryAdvised(ctx, func(ctx context.Context) (*ledgerv1.GetPromoResponse, error) {
		return promos.GetPromo(ctx, &ledgerv1.GetPromoRequest{PromoId: w.promoID})
	})
	if err != nil {
		return 0, err
	}
	return resp.GetPromo().GetSubscribed() / subscription, nil
}

func withTimeout[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	return f(ctx)
}
