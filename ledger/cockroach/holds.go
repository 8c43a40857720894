package cockroach

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/ledger"
)

// PlaceHold implements ledger.Ledger, in two round trips.
func (s *Store) PlaceHold(ctx context.Context, r ledger.PlaceHoldRequest) (ledger.Hold, error) {
	if err := r.Validate(); err != nil {
		return ledger.Hold{}, err
	}
	if r.TTL == 0 {
		r.TTL = ledger.DefaultHoldTTL
	}
	fp := r.Fingerprint()
	var out ledger.Hold
	rq := newRequest(ctx, r.RequestID, fp, &out)
	err := s.inTx(ctx, func(t *txn) error {
		now := s.now()
		var (
			found        bool
			a            ledger.Account
			posted, held int64
		)
		b := &pgx.Batch{}
		rq.queueLookup(t, b)
		b.Queue(sqlGetAccount, r.AccountID).QueryRow(func(row pgx.Row) (err error) {
			a, err = scanAccount(row)
			found = err == nil
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return err
		})
		// Lock the balance so that the check below holds until commit.
		b.Queue(sqlLockBalances, r.AccountID).Query(func(rows pgx.Rows) error {
			var p int64
			_, err := pgx.ForEachRow(rows, []any{&p}, func() error { posted += p; return nil })
			return err
		})
		b.Queue(sqlHeld, r.AccountID, now, nilHold).QueryRow(func(row pgx.Row) error { return row.Scan(&held) })
		if err := t.exec(ctx, b); err != nil || rq.replay {
			return err
		}
		if !found {
			return rq.refuse(ctx, t, ledger.Errorf(ledger.CodeAccountNotFound, "account %s not found", r.AccountID))
		}
		if err := a.CheckDebitor(ledger.Privileged(ctx)); err != nil {
			return rq.refuse(ctx, t, err)
		}
		if err := a.CheckPostable(r.Currency); err != nil {
			return rq.refuse(ctx, t, err)
		}
		if err := a.CheckDebit(posted, held, r.Amount); err != nil {
			return rq.refuse(ctx, t, err)
		}

		h := ledger.Hold{
			ID: uuid.NewString(), AccountID: a.ID, Currency: r.Currency, Amount: r.Amount,
			Status: ledger.HoldActive, ATMID: r.ATMID, CreatedAt: now, ExpiresAt: now.Add(r.TTL),
		}
		b = &pgx.Batch{}
		b.Queue(sqlInsertHold, h.ID, h.AccountID, h.Currency, h.Amount, h.ATMID, r.RequestID, h.CreatedAt, h.ExpiresAt)
		b.Queue(sqlRaiseHoldsUntil, h.AccountID, h.ExpiresAt)
		queueEvent(ctx, b, ledger.EntryHoldPlacement, r.RequestID, fmt.Sprintf("hold %s of %d %s on %s until %s",
			h.ID, h.Amount, h.Currency, h.AccountID, h.ExpiresAt.Format(time.RFC3339Nano)), now)
		if err := rq.queueRecord(b, h, now); err != nil {
			return err
		}
		if err := t.commit(ctx, b); err != nil {
			return err
		}
		out = h
		return nil
	})
	return out, err
}

// CaptureHold implements ledger.Ledger, in three round trips: the hold is
// locked, its entry posted by the posting engine's statement, and the hold
// finished with COMMIT. (Finishing the hold in the statement's round trip,
// only if its entry was posted, would read the entries' index, and on
// PostgreSQL's SERIALIZABLE concurrent captures would conflict there.)
func (s *Store) CaptureHold(ctx context.Context, r ledger.CaptureHoldRequest) (ledger.Capture, error) {
	if err := r.Validate(); err != nil {
		return ledger.Capture{}, err
	}
	fp := r.Fingerprint()
	var out ledger.Capture
	rq := newRequest(ctx, r.RequestID, fp, &out)
	err := s.withSystemAccounts(ctx, func() error {
		return s.inTx(ctx, func(t *txn) error {
			now := s.now()
			h, err := lockHold(ctx, t, rq, r.HoldID)
			if rq.replay || err != nil {
				return err
			}
			amount := r.Amount
			if amount == 0 {
				amount = h.Amount
			}
			if err := h.CheckCapture(amount, now); err != nil {
				return rq.refuse(ctx, t, err)
			}
			p := s.newProposal(ctx, fp, ledger.NewMove(ledger.EntryHoldCapture, r.RequestID, "hold "+h.ID,
				h.AccountID, h.CounterAccountID(), h.Currency, amount), nil)
			p.rq, p.excludeHold = rq, h.ID
			h.Status, h.CapturedAmount = ledger.HoldCaptured, amount
			p.result = func(e ledger.Entry) any { return ledger.Capture{Hold: h, Entry: e} }
			if err := s.sendPost(ctx, t, p, now); err != nil || rq.replay {
				return err
			}
			b := &pgx.Batch{}
			b.Queue(sqlFinishHold, h.ID, holdStatusName(h.Status), amount)
			if err := t.commit(ctx, b); err != nil {
				return err
			}
			out = ledger.Capture{Hold: h, Entry: p.e}
			return nil
		})
	})
	return out, err
}

// VoidHold implements ledger.Ledger, in two round trips.
func (s *Store) VoidHold(ctx context.Context, r ledger.VoidHoldRequest) (ledger.Hold, error) {
	if err := r.Validate(); err != nil {
		return ledger.Hold{}, err
	}
	fp := r.Fingerprint()
	var out ledger.Hold
	rq := newRequest(ctx, r.RequestID, fp, &out)
	err := s.inTx(ctx, func(t *txn) error {
		now := s.now()
		h, err := lockHold(ctx, t, rq, r.HoldID)
		if rq.replay || err != nil {
			return err
		}
		if err := h.CheckVoid(now); err != nil {
			return rq.refuse(ctx, t, err)
		}
		h.Status = ledger.HoldVoided
		b := &pgx.Batch{}
		b.Queue(sqlFinishHold, h.ID, holdStatusName(h.Status), 0)
		queueEvent(ctx, b, ledger.EntryHoldVoid, r.RequestID, fmt.Sprintf("hold %s of %d %s on %s voided",
			h.ID, h.Amount, h.Currency, h.AccountID), now)
		if err := rq.queueRecord(b, h, now); err != nil {
			return err
		}
		if err := t.commit(ctx, b); err != nil {
			return err
		}
		out = h
		return nil
	})
	return out, err
}

// lockHold locks and returns the hold (on retries, after looking up the
// request, which may be a replay).
func lockHold(ctx context.Context, t *txn, rq *request, holdID string) (ledger.Hold, error) {
	return lockRow(ctx, t, rq, scanHold, ledger.Errorf(ledger.CodeHoldNotFound, "hold %s not found", holdID),
		sqlGetHoldForUpdate, holdID)
}
