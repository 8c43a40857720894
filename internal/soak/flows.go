package soak

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

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

// entryResult is the result of a request that posted e under id.
func entryResult(id string, e *ledgerv1.Entry) result {
	if e == nil {
		return result{}
	}
	return result{entries: []entryRef{{id, e.GetEntryId()}}, at: e.GetPostedAt().AsTime()}
}
