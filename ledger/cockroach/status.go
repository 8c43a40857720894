package cockroach

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/ledger"
)

// Account statuses change rarely and by an operator's hand, so a change
// takes two round trips: it locks the account's row, then writes the new
// status with its journal entry and idempotency record.
const (
	sqlGetAccountForUpdate = `SELECT account_id, customer_id, currency, kind, status, shards, created_at
		FROM accounts WHERE account_id = $1 FOR UPDATE`
	sqlSetStatus = `UPDATE accounts SET status = $2 WHERE account_id = $1`
)

func init() { statements = append(statements, sqlGetAccountForUpdate, sqlSetStatus) }

// SetAccountStatus implements ledger.Ledger. The journal records the change
// as an entry without postings, with the caller as its actor and the old
// and new status and the reason in its memo.
func (s *Store) SetAccountStatus(ctx context.Context, r ledger.SetAccountStatusRequest) (ledger.Account, error) {
	if err := r.Validate(); err != nil {
		return ledger.Account{}, err
	}
	var out ledger.Account
	rq := newRequest(ctx, r.RequestID, r.Fingerprint(), &out)
	err := s.inTx(ctx, func(t *txn) error {
		a, err := lockRow(ctx, t, rq, scanAccount, ledger.Errorf(ledger.CodeAccountNotFound, "account %s not found", r.AccountID),
			sqlGetAccountForUpdate, r.AccountID)
		if err != nil || rq.replay {
			return err
		}
		if err := ledger.CheckStatusChange(a.ID, a.Status, r.Status); err != nil {
			return rq.refuse(ctx, t, err)
		}
		now := s.now()
		b := &pgx.Batch{}
		if was := a.Status; was != r.Status {
			a.Status = r.Status
			b.Queue(sqlSetStatus, a.ID, a.Status.String())
			queueEvent(ctx, b, ledger.EntryAccountStatusChange, r.RequestID,
				fmt.Sprintf("account %s %s, was %s: %s", a.ID, a.Status, was, r.Reason), now)
		}
		if err := rq.queueRecord(b, a, now); err != nil {
			return err
		}
		if err := t.commit(ctx, b); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, err
}

// promoTerms is the memo of a promotion's creation in the journal: its
// quota, limits, rate and window.
func promoTerms(p ledger.Promo) string {
	return fmt.Sprintf("promo %s in %s: quota %d, at most %d a customer, %d bps, on sale %s to %s, term %s, early %d bps, withholding %d bps",
		p.ID, p.Currency, p.TotalQuota, p.MaxPerCustomer, p.AnnualRateBps, p.OpensAt.Format(time.RFC3339),
		p.ClosesAt.Format(time.RFC3339), p.Term, p.EarlyRateBps, p.WithholdingBps)
}
