package soak

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// sale is one promo and who has sent it a subscription.
type sale struct {
	create   *ledgerv1.CreatePromoRequest // the same request every time it is sent
	ready    bool                         // created
	creating bool                         // a worker is creating it
	subbed   map[int]bool
}

// subscribe subscribes a customer to the promo on sale; one time in ten a
// customer who already sent one sends another (with a new request id).
// A sold-out answer moves the sale on to the next promo, which the first
// worker to find it missing creates.
func (w *worker) subscribe(ctx context.Context) {
	p, promo, i, create := w.world.nextSubscriber(w.rng.IntN(len(w.world.customers)), w.rng.IntN(10) == 0)
	switch {
	case create != nil:
		w.world.created(p, w.do(ctx, createPromoOp(create)) == classDone)
		return
	case p < 0:
		return // being created by another worker
	}
	acct, cust := w.world.accounts[i], w.world.customers[i]
	id, amount := w.id("subscribe"), 10_000+w.rng.Int64N(promoMax-10_000+1)
	req := &ledgerv1.SubscribeRequest{RequestId: id, PromoId: promo, CustomerId: cust, FromAccountId: acct, Amount: amount}
	o := &op{id: id, kind: "subscribe",
		send: func(ctx context.Context, in *instance) (result, error) {
			res, err := in.promo.Subscribe(ctx, req)
			r := entryResult(id, res.GetSubscription().GetEntry())
			r.account = res.GetSubscription().GetAccountId()
			return r, err
		},
		effect: func(r result) []posting { return []posting{{acct, -amount}, {r.account, amount}} },
	}
	if w.do(ctx, o) == classRefused && o.refusal == "PROMO_SOLD_OUT" {
		w.world.soldOut(p)
	}
}

func createPromoOp(req *ledgerv1.CreatePromoRequest) *op {
	return &op{id: req.GetRequestId(), kind: "create-promo",
		send: func(ctx context.Context, in *instance) (result, error) {
			_, err := in.promo.CreatePromo(ctx, req)
			return result{}, err
		},
		effect: func(result) []posting { return nil },
	}
}

// nextSubscriber returns the promo on sale and a customer to subscribe to
// it (its index and id): the one drawn, or the next who has not sent it
// one; again asks for one who has. When the promo on sale is not created yet, it returns the
// request that creates it to one caller, and -1 to the others.
func (wd *world) nextSubscriber(drawn int, again bool) (p int, promo string, customer int, create *ledgerv1.CreatePromoRequest) {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	for {
		if wd.onSale == len(wd.sales) {
			wd.sales = append(wd.sales, newSale(len(wd.sales)))
		}
		s := wd.sales[wd.onSale]
		switch {
		case !s.ready && s.creating:
			return -1, "", 0, nil
		case !s.ready:
			s.creating = true
			return wd.onSale, "", 0, s.create
		}
		n := len(wd.customers)
		for _, want := range []bool{again, false} {
			for k := range n {
				if i := (drawn + k) % n; s.subbed[i] == want {
					s.subbed[i] = true
					return wd.onSale, s.create.GetPromoId(), i, nil
				}
			}
		}
		wd.onSale++ // every customer has sent one: on to the next
	}
}

// newSale is promo p: open from a minute ago for a day, its quota a few
// dozen subscriptions.
func newSale(p int) *sale {
	now := time.Now()
	id := fmt.Sprintf("soak-promo-%04d", p)
	return &sale{subbed: map[int]bool{}, create: &ledgerv1.CreatePromoRequest{RequestId: "create-" + id, PromoId: id,
		Currency: currency, TotalQuota: promoQuota, MaxPerCustomer: promoMax, AnnualRateBps: 500,
		OpensAt: timestamppb.New(now.Add(-time.Minute)), ClosesAt: timestamppb.New(now.Add(24 * time.Hour)),
		Term: durationpb.New(365 * 24 * time.Hour)}}
}

// created records the end of an attempt to create promo p.
func (wd *world) created(p int, ok bool) {
	wd.mu.Lock()
	wd.sales[p].ready, wd.sales[p].creating = ok, false
	wd.mu.Unlock()
}

// soldOut moves the sale past promo p.
func (wd *world) soldOut(p int) {
	wd.mu.Lock()
	wd.onSale = max(wd.onSale, p+1)
	wd.mu.Unlock()
}
