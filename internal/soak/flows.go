package soak

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// The bank the workload runs.
const (
	currency = "KRW"
	// opening is each customer's deposit: far more than the run spends,
	// so that payments are refused only when they are meant to be.
	opening = 100_000_000
	// overdraft is a payment no customer can afford.
	overdraft = 1_000_000_000_000
	atms      = 4
	holdTTL   = 2 * time.Minute
	// promoQuota is each promo's cap, a few dozen subscriptions of up to
	// promoMax: small, so that promos sell out under the faults.
	promoQuota = 1_000_000
	promoMax   = 100_000
)

// world is the bank's customers and ATMs, and its promos: one on sale at a
// time, the next created when it sells out.
type world struct {
	accounts  []string // customer i's account
	customers []string
	atms      []string

	mu     sync.Mutex
	sales  []*sale
	onSale int // index in sales
}

// sale is one promo and who has sent it a subscription.
type sale struct {
	create   *ledgerv1.CreatePromoRequest // the same request every time it is sent
	ready    bool                         // created
	creating bool                         // a worker is creating it
	subbed   map[int]bool
}

func newWorld(accounts int) *world {
	w := &world{}
	for i := range accounts {
		w.accounts = append(w.accounts, fmt.Sprintf("soak-acct-%03d", i))
		w.customers = append(w.customers, fmt.Sprintf("soak-cust-%03d", i))
	}
	for i := range atms {
		w.atms = append(w.atms, fmt.Sprintf("soak-atm-%d", i))
	}
	return w
}

// flow is one kind of customer activity: one request or a few in a row.
type flow struct {
	name   string
	weight int
	run    func(*worker, context.Context)
}

// flows are drawn by weight. A new kind of request, such as a batch of
// payments, is one more flow whose ops say what they post.
var flows = []flow{
	{"transfer", 50, (*worker).transfer},
	{"withdraw", 15, (*worker).withdraw},
	{"atm", 25, (*worker).atm},
	{"subscribe", 5, (*worker).subscribe},
	{"overdraft", 5, (*worker).overdraft},
}

// worker is one client of the workload, with its own seeded randomness.
type worker struct {
	caller
	n     int
	seq   int
	world *world
}

// id returns a fresh request id of this worker.
func (w *worker) id(kind string) string {
	w.seq++
	return fmt.Sprintf("soak-w%02d-%07d-%s", w.n, w.seq, kind)
}

// run draws flows until stop is closed.
func (w *worker) run(ctx context.Context, stop <-chan struct{}) {
	total := 0
	for _, f := range flows {
		total += f.weight
	}
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		pick := w.rng.IntN(total)
		for _, f := range flows {
			if pick -= f.weight; pick < 0 {
				f.run(w, ctx)
				break
			}
		}
	}
}

// twoCustomers draws two different customers.
func (w *worker) twoCustomers() (int, int) {
	n := len(w.world.accounts)
	i, j := w.rng.IntN(n), w.rng.IntN(n-1)
	if j >= i {
		j++
	}
	return i, j
}

func (w *worker) transfer(ctx context.Context) { w.pay(ctx, 1+w.rng.Int64N(10_000)) }

// overdraft is a transfer far beyond any balance: the ledger must refuse it.
func (w *worker) overdraft(ctx context.Context) { w.pay(ctx, overdraft) }

func (w *worker) pay(ctx context.Context, amount int64) {
	i, j := w.twoCustomers()
	from, to := w.world.accounts[i], w.world.accounts[j]
	w.do(ctx, transferOp(w.id("transfer"), from, to, amount))
}

func transferOp(id, from, to string, amount int64) *op {
	req := &ledgerv1.TransferRequest{RequestId: id, FromAccountId: from, ToAccountId: to, Amount: amount, Currency: currency}
	return &op{id: id, kind: "transfer",
		send: func(ctx context.Context, in *instance) (result, error) {
			res, err := in.pay.Transfer(ctx, req)
			return entryResult(id, res.GetEntry()), err
		},
		effect: func(result) []posting { return []posting{{from, -amount}, {to, amount}} },
	}
}

// withdraw is cash out at an ATM in one step.
func (w *worker) withdraw(ctx context.Context) {
	acct, atm := w.world.accounts[w.rng.IntN(len(w.world.accounts))], w.world.atms[w.rng.IntN(atms)]
	id, amount := w.id("withdraw"), 1+w.rng.Int64N(5_000)
	req := &ledgerv1.WithdrawRequest{RequestId: id, AccountId: acct, Amount: amount, Currency: currency, AtmId: atm}
	w.do(ctx, &op{id: id, kind: "withdraw",
		send: func(ctx context.Context, in *instance) (result, error) {
			res, err := in.pay.Withdraw(ctx, req)
			return entryResult(id, res.GetEntry()), err
		},
		effect: func(result) []posting {
			return []posting{{acct, -amount}, {ledger.ATMAccountID(atm, currency), amount}}
		},
	})
}

// atm is a withdrawal in two steps: a hold, then its capture (the cash
// came out) or its void (it did not).
func (w *worker) atm(ctx context.Context) {
	acct, atm := w.world.accounts[w.rng.IntN(len(w.world.accounts))], w.world.atms[w.rng.IntN(atms)]
	id, amount := w.id("hold"), 1+w.rng.Int64N(5_000)
	place := &ledgerv1.PlaceHoldRequest{RequestId: id, AccountId: acct, Amount: amount, Currency: currency,
		AtmId: atm, Ttl: durationpb.New(holdTTL)}
	held := &op{id: id, kind: "hold",
		send: func(ctx context.Context, in *instance) (result, error) {
			res, err := in.pay.PlaceHold(ctx, place)
			return result{holdID: res.GetHold().GetHoldId(), at: res.GetHold().GetCreatedAt().AsTime()}, err
		},
		effect: func(result) []posting { return nil },
	}
	if w.do(ctx, held) != classDone {
		return
	}
	hold := held.res.holdID
	if w.rng.IntN(4) == 0 {
		vid := w.id("void")
		void := &ledgerv1.VoidHoldRequest{RequestId: vid, HoldId: hold}
		w.do(ctx, &op{id: vid, kind: "void",
			send: func(ctx context.Context, in *instance) (result, error) {
				_, err := in.pay.VoidHold(ctx, void)
				return result{holdID: hold}, err
			},
			effect: func(result) []posting { return nil },
		})
		return
	}
	cid, take := w.id("capture"), 1+w.rng.Int64N(amount)
	capture := &ledgerv1.CaptureHoldRequest{RequestId: cid, HoldId: hold, Amount: take}
	w.do(ctx, &op{id: cid, kind: "capture",
		send: func(ctx context.Context, in *instance) (result, error) {
			res, err := in.pay.CaptureHold(ctx, capture)
			r := entryResult(cid, res.GetEntry())
			r.holdID = hold
			return r, err
		},
		effect: func(result) []posting {
			return []posting{{acct, -take}, {ledger.ATMAccountID(atm, currency), take}}
		},
	})
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
		OpensAt: timestamppb.New(now.Add(-time.Minute)), ClosesAt: timestamppb.New(now.Add(24 * time.Hour))}}
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

// entryResult is the result of a request that posted e under id.
func entryResult(id string, e *ledgerv1.Entry) result {
	if e == nil {
		return result{}
	}
	return result{entries: []entryRef{{id, e.GetEntryId()}}, at: e.GetPostedAt().AsTime()}
}
