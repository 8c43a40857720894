package storm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// operation is one request of the storm: one call, or for a hold and its
// capture two, on one of class's connections chosen by n.
type operation func(ctx context.Context, t *target, n int64) error

// stream is one kind of request arriving at a fixed rate between two
// offsets of the run.
type stream struct {
	class    Class
	rate     float64
	from, to time.Duration
	op       operation
}

// streams returns the run's arrivals: routine and teller requests all
// along, a promo trickle outside the storm and the flood within it.
func (w *world) streams(cfg Config) []stream {
	end, r := cfg.total(), cfg.Rates
	control := 0.0
	if cfg.Control {
		control = r.Flood
	}
	out := []stream{
		{Routine, r.Transfer, 0, end, w.transfer},
		{Routine, r.Withdraw, 0, end, w.withdraw},
		{Routine, r.Hold, 0, end, w.holdCapture},
		{Teller, r.Balance, 0, end, w.balance},
	}
	for _, s := range cfg.spans() {
		switch Phases[s.phase] {
		case Storm:
			out = append(out, stream{Promo, r.Flood, s.from, s.to, w.subscribe})
		case Baseline:
			out = append(out, stream{Control, control, s.from, s.to, w.healthCheck})
			fallthrough
		default:
			out = append(out, stream{Promo, r.Trickle, s.from, s.to, w.subscribe})
		}
	}
	return out
}

// drive sends s's requests on schedule from t0 until its end or ctx is
// done, each in its own goroutine under a deadline counted from its
// scheduled time, and records every outcome. No request waits for another.
func drive(ctx context.Context, t *target, rec *recorder, s stream, deadline time.Duration, wg *sync.WaitGroup) {
	if s.rate <= 0 || s.to <= s.from {
		return
	}
	interval := time.Duration(float64(time.Second) / s.rate)
	// Every call ends by its deadline, so rate*deadline are in flight at
	// most; twice that means the generator itself is falling behind.
	limit := int64(2*s.rate*deadline.Seconds()) + 16
	var inFlight atomic.Int64
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for n := int64(0); ; n++ {
		at := s.from + time.Duration(n)*interval
		if at >= s.to {
			return
		}
		sched := rec.t0.Add(at)
		if d := time.Until(sched); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		}
		if inFlight.Add(1) > limit {
			inFlight.Add(-1)
			rec.record(s.class, sched, outcomeOf(errDropped, 0))
			continue
		}
		wg.Go(func() {
			defer inFlight.Add(-1)
			cctx, cancel := context.WithDeadline(ctx, sched.Add(deadline))
			err := s.op(cctx, t, n)
			cancel()
			rec.record(s.class, sched, outcomeOf(err, time.Since(sched)))
		})
	}
}

// The customers are split in two: the first half make payments and
// balance reads, the second half tap "join" on the promo. A subscription
// in flight locks its customer's balance row, as it must, and a payment by
// the same customer waits for it: that is one customer's own money being
// serialized, not one class of traffic hurting another, so the two
// populations are kept apart to measure the bulkheads alone.

// account picks a paying customer's account at random.
func (w *world) account() (int, string) {
	i := rand.IntN(w.payers())
	return i, w.accounts[i]
}

// payers is how many customers make payments; the rest subscribe.
func (w *world) payers() int { return len(w.accounts) / 2 }

// subscriber picks a subscribing customer at random.
func (w *world) subscriber() (int, string) {
	i := w.payers() + rand.IntN(len(w.accounts)-w.payers())
	return i, w.accounts[i]
}

func (w *world) transfer(ctx context.Context, t *target, n int64) error {
	i, from := w.account()
	j := rand.IntN(w.payers() - 1)
	if j >= i {
		j++ // distinct, and still uniform
	}
	_, err := ledgerv1.NewPaymentServiceClient(t.conn(Routine, n)).Transfer(ctx, &ledgerv1.TransferRequest{
		RequestId: uuid.NewString(), FromAccountId: from, ToAccountId: w.accounts[j],
		Amount: 1 + rand.Int64N(5000), Currency: currency, Memo: "storm",
	})
	return err
}

func (w *world) withdraw(ctx context.Context, t *target, n int64) error {
	_, acct := w.account()
	_, err := ledgerv1.NewPaymentServiceClient(t.conn(Routine, n)).Withdraw(ctx, &ledgerv1.WithdrawRequest{
		RequestId: uuid.NewString(), AccountId: acct, Amount: 10_000 * (1 + rand.Int64N(10)), Currency: currency,
		AtmId: atmID(n),
	})
	return err
}

// holdCapture is a card-style ATM withdrawal: reserve, then take the money.
func (w *world) holdCapture(ctx context.Context, t *target, n int64) error {
	_, acct := w.account()
	pay := ledgerv1.NewPaymentServiceClient(t.conn(Routine, n))
	held, err := pay.PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{
		RequestId: uuid.NewString(), AccountId: acct, Amount: 50_000, Currency: currency, AtmId: atmID(n),
	})
	if err != nil {
		return err
	}
	_, err = pay.CaptureHold(ctx, &ledgerv1.CaptureHoldRequest{RequestId: uuid.NewString(), HoldId: held.GetHold().GetHoldId()})
	return err
}

func (w *world) balance(ctx context.Context, t *target, n int64) error {
	_, acct := w.account()
	_, err := ledgerv1.NewAccountServiceClient(t.conn(Teller, n)).GetBalance(ctx, &ledgerv1.GetBalanceRequest{AccountId: acct})
	return err
}

// subscribe is one tap on "join" by a random customer. There are far more
// taps than customers: people tap again and again.
func (w *world) subscribe(ctx context.Context, t *target, n int64) error {
	i, acct := w.subscriber()
	_, err := ledgerv1.NewPromoServiceClient(t.conn(Promo, n)).Subscribe(ctx, &ledgerv1.SubscribeRequest{
		RequestId: uuid.NewString(), PromoId: w.promoID, CustomerId: w.customer(i), FromAccountId: acct,
		Amount: subscription,
	})
	return err
}

func atmID(n int64) string { return fmt.Sprintf("storm-atm-%d", n%atms) }
