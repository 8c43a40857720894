package cockroach

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/ledger"
)

// promoCache keeps what never changes about a promo (its terms, once
// created) and, once it is sold out, the final set of request ids that
// subscribed. A sold-out promo stays sold out: its quota never grows.
type promoCache struct{ m sync.Map } // promo id -> *promoEntry

type promoEntry struct {
	promo  ledger.Promo
	shards int
	// sold is nil until the promo is known to be sold out; then it holds
	// the request ids of every subscription, with their callers, so that a
	// replay of one is still answered with its result.
	sold atomic.Pointer[map[requestKey]bool]
	// customers holds, for each customer known to have subscribed, the
	// request id of the subscription: a second request is refused from
	// memory, a replay of that one still goes to the database.
	customers sync.Map // customer id -> request id
}

func (e *promoEntry) soldOut() bool { return e.sold.Load() != nil }

func (e *promoEntry) subscribed(actor ledger.Actor, requestID string) bool {
	m := e.sold.Load()
	return m != nil && (*m)[requestKey{actor, requestID}]
}

// knowSubscribed remembers that customer subscribed with requestID.
func (e *promoEntry) knowSubscribed(customer, requestID string) {
	e.customers.LoadOrStore(customer, requestID)
}

// KnownAnswer implements ledger.PromoMemory. It only reads memory: a promo
// not yet cached is left to Subscribe.
func (s *Store) KnownAnswer(ctx context.Context, r ledger.SubscribeRequest) error {
	v, ok := s.promos.m.Load(r.PromoID)
	if !ok {
		return nil
	}
	return v.(*promoEntry).knownAnswer(ctx, r, s.now())
}

// knownAnswer is KnownAnswer on a cached promo. Sold out comes first: a
// sold-out promo refuses everyone who did not subscribe. Outside its
// opening hours Subscribe answers, so that a replay still gets its result.
func (e *promoEntry) knownAnswer(ctx context.Context, r ledger.SubscribeRequest, now time.Time) error {
	if e.promo.CheckOpen(now) != nil {
		return nil
	}
	if e.soldOut() && !e.subscribed(ledger.ActorFrom(ctx), r.RequestID) {
		return soldOut(r.PromoID)
	}
	if id, ok := e.customers.Load(r.CustomerID); ok && id.(string) != r.RequestID {
		return alreadySubscribed(r)
	}
	return nil
}

func alreadySubscribed(r ledger.SubscribeRequest) error {
	return ledger.Errorf(ledger.CodePromoAlreadySubscribed,
		"customer %s already subscribed to promo %s", r.CustomerID, r.PromoID)
}

// promo returns the cached promo, loading it on first use.
func (s *Store) promo(ctx context.Context, id string) (*promoEntry, error) {
	if e, ok := s.promos.m.Load(id); ok {
		return e.(*promoEntry), nil
	}
	e := &promoEntry{}
	var termUS int64
	err := s.pool.QueryRow(ctx, sqlGetPromo, id).Scan(&e.promo.ID, &e.promo.Currency, &e.promo.TotalQuota,
		&e.promo.MaxPerCustomer, &e.promo.AnnualRateBps, &e.promo.OpensAt, &e.promo.ClosesAt, &e.promo.CreatedAt, &e.shards,
		&termUS, &e.promo.EarlyRateBps, &e.promo.WithholdingBps)
	e.promo.Term = time.Duration(termUS) * time.Microsecond
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ledger.Errorf(ledger.CodePromoNotFound, "promo %s not found", id)
	}
	if err != nil {
		return nil, s.translate(err)
	}
	e.promo.OpensAt, e.promo.ClosesAt, e.promo.CreatedAt = e.promo.OpensAt.UTC(), e.promo.ClosesAt.UTC(), e.promo.CreatedAt.UTC()
	actual, _ := s.promos.m.LoadOrStore(id, e)
	return actual.(*promoEntry), nil
}

// checkSoldOut learns, after a refusal for lack of quota, whether the promo
// is now sold out.
func (s *Store) checkSoldOut(ctx context.Context, e *promoEntry) {
	if !e.soldOut() {
		s.learnSoldOut(ctx, e)
	}
}

// learnSoldOut reads, from one snapshot, how much quota is used and which
// requests subscribed. If no quota remains, every subscription has
// committed in that snapshot, so the set is final and is kept.
func (s *Store) learnSoldOut(ctx context.Context, e *promoEntry) {
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var used int64
		if err := tx.QueryRow(ctx, sqlPromoUsed, e.promo.ID).Scan(&used); err != nil || used < e.promo.TotalQuota {
			return err
		}
		rows, err := tx.Query(ctx, sqlSubscriptionRequests, e.promo.ID)
		if err != nil {
			return err
		}
		set := map[requestKey]bool{}
		var actor, id string
		if _, err := pgx.ForEachRow(rows, []any{&actor, &id}, func() error {
			set[requestKey{ledger.Actor(actor), id}] = true
			return nil
		}); err != nil {
			return err
		}
		e.sold.Store(&set)
		return nil
	})
	if err != nil {
		s.opt.Logger.WarnContext(ctx, "could not check whether a promo is sold out", "promo", e.promo.ID, "error", err)
	}
}
