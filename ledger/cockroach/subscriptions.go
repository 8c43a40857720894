package cockroach

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/ledger"
)

// A subscription's life after Subscribe: paid back at maturity by the payer
// (payout.go), or early by CancelSubscription. Either way one entry, through
// the posting engine, returns the principal from the promo deposit account
// and the interest from the currency's interest expense account, less the
// tax to its tax payable account, to the account the money came from; the
// same transaction moves the subscription out of ACTIVE, which it can do
// once.

const (
	// subscriptionColumns are what scanSubscription reads.
	sqlGetSubscriptionFull = `SELECT promo_id, customer_id, account_id, amount, CAST(entry_id AS TEXT), from_account_id,
		status, created_at, matures_at, interest, tax, COALESCE(CAST(payout_entry_id AS TEXT), ''), closed_at
		FROM subscriptions WHERE promo_id = $1 AND customer_id = $2 FOR UPDATE`
	sqlListSubscriptions = `SELECT promo_id, customer_id, account_id, amount, CAST(entry_id AS TEXT), from_account_id,
		status, created_at, matures_at, interest, tax, COALESCE(CAST(payout_entry_id AS TEXT), ''), closed_at
		FROM subscriptions WHERE promo_id = $1 AND customer_id > $2 ORDER BY customer_id LIMIT $3`
	// sqlCloseSubscriptions marks subscriptions (promo $1, customer $2,
	// pairwise) paid back with status $7: interest $3, tax $4, by entry $5,
	// at $6; only those still active, which it returns.
	sqlCloseSubscriptions = `UPDATE subscriptions AS s SET status = $7, interest = u.interest, tax = u.tax,
			payout_entry_id = u.entry_id, closed_at = $6
		FROM unnest(CAST($1 AS TEXT[]), CAST($2 AS TEXT[]), CAST($3 AS INT8[]), CAST($4 AS INT8[]), CAST($5 AS UUID[]))
			AS u (promo_id, customer_id, interest, tax, entry_id)
		WHERE s.promo_id = u.promo_id AND s.customer_id = u.customer_id AND s.status = 'ACTIVE'
		RETURNING s.customer_id`
)

func init() {
	statements = append(statements, sqlGetSubscriptionFull, sqlListSubscriptions, sqlCloseSubscriptions)
}

// scanSubscription reads a row of sqlGetSubscriptionFull.
func scanSubscription(row pgx.Row) (ledger.Subscription, error) {
	var sub ledger.Subscription
	var status string
	var matures, closed *time.Time
	err := row.Scan(&sub.PromoID, &sub.CustomerID, &sub.AccountID, &sub.Amount, &sub.Entry.ID, &sub.FromAccount,
		&status, &sub.CreatedAt, &matures, &sub.Interest, &sub.Tax, &sub.PayoutEntryID, &closed)
	sub.Status, sub.CreatedAt = subStatuses[status], sub.CreatedAt.UTC()
	if matures != nil {
		sub.MaturesAt = matures.UTC()
	}
	if closed != nil {
		sub.ClosedAt = closed.UTC()
	}
	return sub, err
}

// nullTime is t, or NULL for the zero time.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// closings are the arrays of sqlCloseSubscriptions.
type closings struct {
	promos, customers []string
	interest, tax     []int64
	entries           [][16]byte
}

func (c *closings) add(sub ledger.Subscription, pay ledger.Payout, entry [16]byte) {
	c.promos, c.customers = append(c.promos, sub.PromoID), append(c.customers, sub.CustomerID)
	c.interest, c.tax, c.entries = append(c.interest, pay.Interest), append(c.tax, pay.Tax), append(c.entries, entry)
}

// queue queues sqlCloseSubscriptions into b; once b is sent, an error says
// that not every subscription was still active, and the transaction must
// not commit.
func (c *closings) queue(b *pgx.Batch, status ledger.SubscriptionStatus, now time.Time) {
	want := len(c.customers)
	b.Queue(sqlCloseSubscriptions, c.promos, c.customers, c.interest, c.tax, c.entries, now, status.String()).
		Query(func(rows pgx.Rows) error {
			n := 0
			for rows.Next() {
				n++
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if n != want {
				return retryError{errors.New("a subscription being paid back was closed meanwhile")}
			}
			return nil
		})
}

// CancelSubscription implements ledger.Promotions. The subscription's row
// is locked first, so that a payout and a cancellation of it cannot both
// pass the check that it is still active.
func (s *Store) CancelSubscription(ctx context.Context, r ledger.CancelSubscriptionRequest) (ledger.Subscription, error) {
	var out ledger.Subscription
	if err := r.Validate(); err != nil {
		return out, err
	}
	e, err := s.promo(ctx, r.PromoID)
	if err != nil {
		return out, err
	}
	fp := r.Fingerprint()
	rq := newRequest(ctx, r.RequestID, fp, &out)
	err = s.withSystemAccounts(ctx, func() error {
		return s.inTx(ctx, func(t *txn) error {
			now := s.now()
			sub, err := lockRow(ctx, t, rq, scanSubscription, ledger.Errorf(ledger.CodeSubscriptionNotFound,
				"customer %s has no subscription to promo %s", r.CustomerID, r.PromoID), sqlGetSubscriptionFull, r.PromoID, r.CustomerID)
			if err != nil || rq.replay {
				return err
			}
			if err := sub.CheckCancel(now); err != nil {
				return rq.refuse(ctx, t, err)
			}
			pay := ledger.PayoutFor(sub.Amount, e.promo.EarlyRateBps, e.promo.WithholdingBps, now.Sub(sub.CreatedAt))
			en := sub.ClosingEntry(ledger.EntryPromoCancellation, r.RequestID, e.promo.Currency, pay)
			// The interest leg debits the bank by design; its amount is the
			// ledger's own figure, never the caller's.
			flow := make(productFlow, len(en.Postings))
			for i, posting := range en.Postings {
				flow[i] = posting.AccountID == ledger.InterestExpenseAccountID(e.promo.Currency)
			}
			p := s.newProposal(ctx, fp, en, flow)
			p.rq = rq
			done := sub
			done.Status, done.Interest, done.Tax, done.ClosedAt = ledger.SubscriptionCancelled, pay.Interest, pay.Tax, now
			p.result = func(en ledger.Entry) any {
				done.PayoutEntryID, done.PayoutEntry = en.ID, &en
				return done
			}
			if err := s.sendPost(ctx, t, p, now); err != nil || rq.replay {
				return err
			}
			var c closings
			c.add(sub, pay, p.id)
			final := &pgx.Batch{}
			c.queue(final, ledger.SubscriptionCancelled, now)
			if err := t.commit(ctx, final); err != nil {
				return err
			}
			out = p.result(p.e).(ledger.Subscription)
			return nil
		})
	})
	return out, err
}

// ListSubscriptions implements ledger.Promotions.
func (s *Store) ListSubscriptions(ctx context.Context, q ledger.SubscriptionQuery) ([]ledger.Subscription, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.promo(ctx, q.PromoID); err != nil {
		return nil, err
	}
	if q.Limit == 0 {
		q.Limit = ledger.DefaultPageSize
	}
	rows, err := s.pool.Query(ctx, sqlListSubscriptions, q.PromoID, q.After, q.Limit)
	if err != nil {
		return nil, s.translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.Subscription, error) { return scanSubscription(row) })
	return out, s.translate(err)
}
