package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// setup opens and funds every customer's account, before any fault. The
// database must hold no ledger yet: the checks account for every entry.
func (s *Soak) setup(ctx context.Context) error {
	var entries int64
	if err := s.db.check.QueryRow(ctx, "SELECT count(*) FROM entries").Scan(&entries); err != nil {
		return err
	}
	if entries != 0 {
		return fmt.Errorf("the database already holds %d entries: the soak needs a ledger of its own", entries)
	}
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range s.world.accounts {
		c := &caller{rec: s.rec, instances: s.instances, rng: rand.New(rand.NewPCG(s.cfg.Seed, uint64(1<<32+i)))}
		g.Go(func() error {
			for _, o := range []*op{openOp(s.world.accounts[i], s.world.customers[i]), depositOp(s.world.accounts[i], opening)} {
				c.rec.add(o)
				if got := c.retry(gctx, o, time.Minute, false); got != classDone {
					return fmt.Errorf("%s %s: %v (%s)", o.kind, o.id, got, o.refusal)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	s.logf("opened and funded %d accounts in %v", len(s.world.accounts), time.Since(start).Round(time.Millisecond))
	return nil
}

func openOp(acct, customer string) *op {
	id := "open-" + acct
	req := &ledgerv1.OpenAccountRequest{RequestId: id, AccountId: acct, CustomerId: customer, Currency: currency,
		Kind: ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER}
	return &op{id: id, kind: "open",
		send: func(ctx context.Context, in *instance) (result, error) {
			_, err := in.acct.OpenAccount(ctx, req)
			return result{}, err
		},
		effect: func(result) []posting { return nil },
	}
}

func depositOp(acct string, amount int64) *op {
	id := "deposit-" + acct
	req := &ledgerv1.DepositRequest{RequestId: id, AccountId: acct, Amount: amount, Currency: currency}
	return &op{id: id, kind: "deposit",
		send: func(ctx context.Context, in *instance) (result, error) {
			res, err := in.pay.Deposit(ctx, req)
			return entryResult(id, res.GetEntry()), err
		},
		effect: func(result) []posting { return []posting{{ledger.VaultAccountID(currency), -amount}, {acct, amount}} },
	}
}

// viaProxy is dbURL with its host and port replaced by addr.
func viaProxy(dbURL, addr string) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", err
	}
	u.Host = addr
	return u.String(), nil
}
