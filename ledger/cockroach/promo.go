package cockroach

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/ledger"
)

var _ ledger.Promotions = (*Store)(nil)

// CreatePromo implements ledger.Promotions. The quota is split evenly over
// the shard rows.
func (s *Store) CreatePromo(ctx context.Context, r ledger.CreatePromoRequest) (ledger.PromoStatus, error) {
	if err := r.Validate(); err != nil {
		return ledger.PromoStatus{}, err
	}
	r.OpensAt, r.ClosesAt = r.OpensAt.UTC().Truncate(time.Microsecond), r.ClosesAt.UTC().Truncate(time.Microsecond)
	fp := r.Fingerprint()
	var out ledger.PromoStatus
	rq := newRequest(ctx, r.RequestID, fp, &out)
	err := s.inTx(ctx, func(t *txn) error {
		var exists bool
		b := &pgx.Batch{}
		rq.queueLookup(t, b)
		queueExists(b, &exists, sqlGetPromo, r.PromoID)
		if err := t.exec(ctx, b); err != nil || rq.replay {
			return err
		}
		if exists {
			return rq.refuse(ctx, t, ledger.Errorf(ledger.CodePromoExists, "promo %s already exists", r.PromoID))
		}
		p := ledger.PromoStatus{Promo: ledger.Promo{
			ID: r.PromoID, Currency: r.Currency, TotalQuota: r.TotalQuota, MaxPerCustomer: r.MaxPerCustomer,
			AnnualRateBps: r.AnnualRateBps, OpensAt: r.OpensAt, ClosesAt: r.ClosesAt, CreatedAt: s.now(),
			Term: r.Term.Truncate(time.Microsecond), EarlyRateBps: r.EarlyRateBps, WithholdingBps: r.WithholdingBps,
		}}
		// Each shard must hold at least one largest subscription, or the
		// fast path (one shard) could never serve it.
		n := max(1, min(int64(s.opt.PromoShards), r.TotalQuota/r.MaxPerCustomer))
		b = &pgx.Batch{}
		b.Queue(sqlInsertPromo, p.ID, p.Currency, p.TotalQuota, p.MaxPerCustomer, p.AnnualRateBps,
			p.OpensAt, p.ClosesAt, n, p.CreatedAt, p.Term.Microseconds(), p.EarlyRateBps, p.WithholdingBps)
		for i := range n {
			quota := p.TotalQuota / n
			if i < p.TotalQuota%n {
				quota++
			}
			b.Queue(sqlInsertQuota, p.ID, i, quota)
		}
		queueEvent(ctx, b, ledger.EntryPromoCreation, r.RequestID, promoTerms(p.Promo), p.CreatedAt)
		if err := rq.queueRecord(b, p, p.CreatedAt); err != nil {
			return err
		}
		if err := t.commit(ctx, b); err != nil {
			return err
		}
		out = p
		return nil
	})
	return out, err
}

// GetPromo implements ledger.Promotions. A sold-out promo is answered from
// memory.
func (s *Store) GetPromo(ctx context.Context, promoID string) (ledger.PromoStatus, error) {
	e, err := s.promo(ctx, promoID)
	if err != nil {
		return ledger.PromoStatus{}, err
	}
	if e.soldOut() {
		return ledger.PromoStatus{Promo: e.promo, Subscribed: e.promo.TotalQuota}, nil
	}
	st := ledger.PromoStatus{Promo: e.promo}
	if err := s.pool.QueryRow(ctx, sqlPromoUsed, promoID).Scan(&st.Subscribed); err != nil {
		return st, s.translate(err)
	}
	if st.SoldOut() {
		s.learnSoldOut(ctx, e)
	}
	return st, nil
}

// Subscribe implements ledger.Promotions. Once a promo is known to be sold
// out, or a customer to have subscribed, a new request is refused from
// memory (KnownAnswer), without a database round trip; a replay of a
// request that did subscribe still gets its result.
//
// An attempt opens the promo deposit account, posts the subscription's
// entry through the posting engine and takes the quota from one random
// shard in one round trip; the subscription and COMMIT go in a second.
// When that shard has no room, it takes the quota from the others in order;
// a partial subscription (AllowPartial) posts again, for what remains.
func (s *Store) Subscribe(ctx context.Context, r ledger.SubscribeRequest) (ledger.Subscription, error) {
	var out ledger.Subscription
	if err := r.Validate(); err != nil {
		return out, err
	}
	e, err := s.promo(ctx, r.PromoID)
	if err != nil {
		return out, err
	}
	if err := e.knownAnswer(ctx, r, s.now()); err != nil {
		return out, err
	}
	fp := r.Fingerprint()
	rq := newRequest(ctx, r.RequestID, fp, &out)
	want := r.Amount // less, once a partial subscription found less quota
	err = s.inTx(ctx, func(t *txn) error {
		now := s.now()
		if err := e.promo.CheckOpen(now); err != nil {
			return rq.refuse(ctx, t, err) // a replay of an earlier success still gets its result
		}
		if t.lookup {
			if done, err := s.lookUpSubscription(ctx, t, rq, e, r); done {
				return err
			}
		}
		if err := e.promo.CheckAmount(r.Amount); err != nil {
			return rq.refuse(ctx, t, err)
		}
		account := ledger.Account{ID: ledger.PromoAccountID(uuid.NewString()), CustomerID: r.CustomerID,
			Currency: e.promo.Currency, Kind: ledger.KindCustomer, Status: ledger.StatusActive, Shards: 1, CreatedAt: now}
		p := s.newProposal(ctx, fp, ledger.NewMove(ledger.EntryPromoSubscription, r.RequestID, "promo "+r.PromoID,
			r.FromAccount, account.ID, e.promo.Currency, want), nil)
		p.rq = rq
		sub := ledger.Subscription{PromoID: r.PromoID, CustomerID: r.CustomerID, AccountID: account.ID, Amount: want,
			FromAccount: r.FromAccount, Status: ledger.SubscriptionActive, CreatedAt: now, MaturesAt: e.promo.MaturesAt(now)}
		p.result = func(en ledger.Entry) any { sub.Entry = en; return sub }
		took, refusal, err := s.postAndTakeQuota(ctx, t, p, account, e.shards, r, want, now)
		switch {
		case err != nil:
			return err
		case refusal != nil:
			return rq.refuse(ctx, t, refusal)
		}
		final := &pgx.Batch{}
		if !took { // the chosen shard had no room: spread over the others
			amount, err := s.spreadQuota(ctx, t, final, e, r, want)
			if err != nil {
				return rq.refuse(ctx, t, err)
			}
			if amount != want { // a partial subscription: post again for what remains
				want = amount
				return retryError{errors.New("partial subscription: posting what the quota has")}
			}
		}
		final.Queue(sqlInsertSubscription, r.PromoID, r.CustomerID, account.ID, want, p.e.ID, r.RequestID, now,
			r.FromAccount, nullTime(sub.MaturesAt))
		if err := t.commit(ctx, final); err != nil {
			return err
		}
		out = sub
		return nil
	})
	switch {
	case err == nil:
		e.knowSubscribed(r.CustomerID, r.RequestID)
	case ledger.ErrorCode(err) == ledger.CodePromoSoldOut:
		s.checkSoldOut(ctx, e)
	}
	return out, err
}

// lookUpSubscription looks up, on an attempt after a unique violation,
// the request's record and the customer's subscription: an attempt
// inserts the subscription blind, its primary key refuses a second one,
// and the retry comes here to say why. It reports whether the attempt is
// done, with err: a replay (rq.replay tells), the refusal of a second
// subscription, or a failure.
func (s *Store) lookUpSubscription(ctx context.Context, t *txn, rq *request, e *promoEntry, r ledger.SubscribeRequest) (done bool, err error) {
	existing := ""
	b := &pgx.Batch{}
	rq.queueLookup(t, b)
	b.Queue(sqlGetSubscription, r.PromoID, r.CustomerID).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&existing); !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		return nil
	})
	if err := t.exec(ctx, b); err != nil || rq.replay {
		return true, err
	}
	if existing != "" {
		e.knowSubscribed(r.CustomerID, existing)
		return true, rq.refuse(ctx, t, alreadySubscribed(r))
	}
	return false, nil
}

// postAndTakeQuota sends a subscription attempt's first round trip: it
// opens the promo deposit account, posts p's entry through the posting
// engine and takes want from one of the promo's shards, chosen at random.
// It reports whether that shard had room, or why the ledger refuses the
// subscription (the source account is not the customer's, or the posting
// rules refuse p), or a failure.
func (s *Store) postAndTakeQuota(ctx context.Context, t *txn, p *proposal, account ledger.Account, shards int,
	r ledger.SubscribeRequest, want int64, now time.Time) (took bool, refusal, err error) {
	// The customer's balance row first, then quota: every
	// subscription locks in this order.
	b := &pgx.Batch{}
	queueCreateAccount(b, account)
	verdict, err := s.postInTx(t, b, p, now)
	if err != nil {
		return false, nil, err
	}
	b.Queue(sqlTakeQuota, r.PromoID, rand.IntN(shards), want).QueryRow(func(row pgx.Row) error {
		var used int64
		err := row.Scan(&used)
		took = err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err := t.exec(ctx, b); err != nil {
		return false, nil, err
	}
	if from := p.legs[0]; from.Found {
		if err := r.CheckOwner(from.Account); err != nil {
			return false, err, nil
		}
	}
	return took, verdict(), nil
}

// spreadQuota takes want (or, if r allows it, what remains) from the
// promo's shards in order, locking them all; it queues the updates into b
// and returns the amount taken. It refuses with PROMO_SOLD_OUT when not
// enough remains.
func (s *Store) spreadQuota(ctx context.Context, t *txn, b *pgx.Batch, e *promoEntry, r ledger.SubscribeRequest, want int64) (int64, error) {
	type room struct{ shard, free int64 }
	var rooms []room
	var free int64
	q := &pgx.Batch{}
	q.Queue(sqlLockQuota, r.PromoID).Query(func(rows pgx.Rows) error {
		var shard, quota, used int64
		_, err := pgx.ForEachRow(rows, []any{&shard, &quota, &used}, func() error {
			if quota > used {
				rooms = append(rooms, room{shard, quota - used})
				free += quota - used
			}
			return nil
		})
		return err
	})
	if err := t.exec(ctx, q); err != nil {
		return 0, err
	}
	if free < want {
		if !r.AllowPartial || free == 0 {
			return 0, soldOut(r.PromoID)
		}
		want = free
	}
	left := want
	for _, rm := range rooms {
		take := min(left, rm.free)
		b.Queue(sqlAddQuota, r.PromoID, rm.shard, take)
		if left -= take; left == 0 {
			break
		}
	}
	return want, nil
}

func soldOut(promoID string) error {
	return ledger.Errorf(ledger.CodePromoSoldOut, "promo %s has no quota left for this amount", promoID)
}
