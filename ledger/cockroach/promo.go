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
	rq := &request{id: r.RequestID, fp: fp, out: &out}
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
		}}
		// Each shard must hold at least one largest subscription, or the
		// fast path (one shard) could never serve it.
		n := max(1, min(int64(s.opt.PromoShards), r.TotalQuota/r.MaxPerCustomer))
		b = &pgx.Batch{}
		b.Queue(sqlInsertPromo, p.ID, p.Currency, p.TotalQuota, p.MaxPerCustomer, p.AnnualRateBps,
			p.OpensAt, p.ClosesAt, n, p.CreatedAt)
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
// out, a new request is refused from memory, without a database round
// trip; a replay of a request that did subscribe still gets its result.
func (s *Store) Subscribe(ctx context.Context, r ledger.SubscribeRequest) (ledger.Subscription, error) {
	var out ledger.Subscription
	if err := r.Validate(); err != nil {
		return out, err
	}
	e, err := s.promo(ctx, r.PromoID)
	if err != nil {
		return out, err
	}
	if e.soldOut() && !e.subscribed(r.RequestID) {
		return out, soldOut(r.PromoID)
	}
	fp := r.Fingerprint()
	rq := &request{id: r.RequestID, fp: fp, out: &out}
	err = s.inTx(ctx, func(t *txn) error {
		now := s.now()
		if err := e.promo.CheckOpen(now); err != nil {
			return rq.refuse(ctx, t, err) // a replay of an earlier success still gets its result
		}
		existing := ""
		shard := rand.IntN(e.shards)
		took := false
		en := ledger.NewMove(ledger.EntryPromoSubscription, r.RequestID, "promo "+r.PromoID, r.FromAccount,
			"sys:promo:"+uuid.NewString(), e.promo.Currency, r.Amount)
		en.ID, en.PostedAt, en.Actor = uuid.NewString(), now, ledger.ActorFrom(ctx)

		b := &pgx.Batch{}
		rq.queueLookup(t, b)
		// The customer's balance row first, then quota: every subscription
		// locks in this order.
		legs := s.queueLegs(b, ledger.Entry{Postings: en.Postings[:1], PostedAt: now}, nilHold)
		if t.lookup {
			// An attempt inserts the subscription blind: its primary key
			// refuses a second one, and the retry comes here to say why.
			b.Queue(sqlGetSubscription, r.PromoID, r.CustomerID).QueryRow(func(row pgx.Row) error {
				err := row.Scan(&existing)
				if errors.Is(err, pgx.ErrNoRows) {
					return nil
				}
				return err
			})
		}
		b.Queue(sqlTakeQuota, r.PromoID, shard, r.Amount).QueryRow(func(row pgx.Row) error {
			var used int64
			err := row.Scan(&used)
			took = err == nil
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return err
		})
		if err := t.exec(ctx, b); err != nil || rq.replay {
			return err
		}
		if existing != "" {
			return rq.refuse(ctx, t, ledger.Errorf(ledger.CodePromoAlreadySubscribed,
				"customer %s already subscribed to promo %s", r.CustomerID, r.PromoID))
		}
		if err := e.promo.CheckAmount(r.Amount); err != nil {
			return rq.refuse(ctx, t, err)
		}
		from := legs[0]
		if from.found && from.acct.CustomerID != r.CustomerID {
			return rq.refuse(ctx, t, &ledger.Error{Code: ledger.CodeInvalidArgument, Message: "not the customer's account",
				Fields: []ledger.FieldViolation{{Field: "from_account_id", Description: "must be an account of customer_id"}}})
		}

		final := &pgx.Batch{}
		if !took { // the chosen shard had no room: spread over the others
			amount, err := s.spreadQuota(ctx, t, final, e, r)
			if err != nil {
				return rq.refuse(ctx, t, err)
			}
			if amount != r.Amount { // a partial subscription: redo the debit for what was taken
				final.Queue(sqlAddToShard, from.posting.AccountID, from.shard, r.Amount-amount)
				from.posted += r.Amount - amount
				en.Postings[0].Amount, en.Postings[1].Amount = -amount, amount
				from.posting.Amount = -amount
			}
		}
		if err := checkLegs(legs, e.promo.Currency); err != nil {
			return rq.refuse(ctx, t, err)
		}
		amount := en.Postings[1].Amount
		account := ledger.Account{ID: en.Postings[1].AccountID, CustomerID: r.CustomerID, Currency: e.promo.Currency,
			Kind: ledger.KindCustomer, Status: ledger.StatusActive, Shards: 1, CreatedAt: now}
		final.Queue(sqlInsertAccount, account.ID, account.CustomerID, account.Currency, account.Kind.String(),
			account.Status.String(), account.Shards, account.CreatedAt)
		final.Queue(sqlInsertBalance, account.ID, amount)
		sub := ledger.Subscription{PromoID: r.PromoID, CustomerID: r.CustomerID, AccountID: account.ID, Amount: amount, Entry: en}
		if err := queueEntry(final, en, []*leg{from, {acct: account, posted: amount}}, rq, sub, now); err != nil {
			return err
		}
		final.Queue(sqlInsertSubscription, r.PromoID, r.CustomerID, account.ID, amount, en.ID, r.RequestID, now)
		if err := t.commit(ctx, final); err != nil {
			return err
		}
		out = sub
		return nil
	})
	if ledger.ErrorCode(err) == ledger.CodePromoSoldOut {
		s.checkSoldOut(ctx, e)
	}
	return out, err
}

// spreadQuota takes r.Amount (or, if r allows it, what remains) from the
// promo's shards in order, locking them all; it queues the updates into b
// and returns the amount taken. It refuses with PROMO_SOLD_OUT when not
// enough remains.
func (s *Store) spreadQuota(ctx context.Context, t *txn, b *pgx.Batch, e *promoEntry, r ledger.SubscribeRequest) (int64, error) {
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
	want := r.Amount
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
