package cockroach

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/ledger"
)

// PlaceHold implements ledger.Ledger.
func (s *Store) PlaceHold(ctx context.Context, r ledger.PlaceHoldRequest) (ledger.Hold, error) {
	if err := r.Validate(); err != nil {
		return ledger.Hold{}, err
	}
	if r.TTL == 0 {
		r.TTL = ledger.DefaultHoldTTL
	}
	fp := r.Fingerprint()
	var out ledger.Hold
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		now := s.now()
		b := &pgx.Batch{}
		b.Queue(sqlGetRequest, r.RequestID)
		b.Queue(sqlGetAccount, r.AccountID)
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		if done, err := replayed(br.QueryRow(), r.RequestID, fp, &out); done || err != nil {
			return err
		}
		a, err := scanAccount(br.QueryRow())
		if errors.Is(err, pgx.ErrNoRows) {
			return ledger.Errorf(ledger.CodeAccountNotFound, "account %s not found", r.AccountID)
		} else if err != nil {
			return err
		}
		if err := br.Close(); err != nil {
			return err
		}
		if err := a.CheckPostable(r.Currency); err != nil {
			return err
		}

		// Lock the balance so that the check below holds until commit.
		var posted, held int64
		b = &pgx.Batch{}
		b.Queue(sqlLockBalances, r.AccountID).Query(func(rows pgx.Rows) error {
			var p int64
			_, err := pgx.ForEachRow(rows, []any{&p}, func() error { posted += p; return nil })
			return err
		})
		b.Queue(sqlHeld, r.AccountID, now, nilHold).QueryRow(func(row pgx.Row) error { return row.Scan(&held) })
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if err := a.CheckDebit(posted, held, r.Amount); err != nil {
			return err
		}

		h := ledger.Hold{
			ID: uuid.NewString(), AccountID: a.ID, Currency: r.Currency, Amount: r.Amount,
			Status: ledger.HoldActive, ATMID: r.ATMID, CreatedAt: now, ExpiresAt: now.Add(r.TTL),
		}
		b = &pgx.Batch{}
		b.Queue(sqlInsertHold, h.ID, h.AccountID, h.Currency, h.Amount, h.ATMID, r.RequestID, h.CreatedAt, h.ExpiresAt)
		if err := queueRequest(b, r.RequestID, fp, h, now); err != nil {
			return err
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		out = h
		return nil
	})
	return out, err
}

// CaptureHold implements ledger.Ledger.
func (s *Store) CaptureHold(ctx context.Context, r ledger.CaptureHoldRequest) (ledger.Capture, error) {
	if err := r.Validate(); err != nil {
		return ledger.Capture{}, err
	}
	fp := r.Fingerprint()
	var out ledger.Capture
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		now := s.now()
		h, done, err := s.lockHold(ctx, tx, r.RequestID, r.HoldID, fp, &out)
		if done || err != nil {
			return err
		}
		amount := r.Amount
		if amount == 0 {
			amount = h.Amount
		}
		if err := h.CheckCapture(amount, now); err != nil {
			return err
		}
		counter := h.CounterAccountID()
		rows, err := tx.Query(ctx, sqlGetAccounts, []string{h.AccountID, counter})
		if err != nil {
			return err
		}
		accts, err := scanAccounts(rows)
		if err != nil {
			return err
		}
		from, to, err := s.resolve(ctx, tx, accts, h.AccountID, counter, h.Currency, now)
		if err != nil {
			return err
		}
		e := ledger.NewMove(ledger.EntryHoldCapture, r.RequestID, "hold "+h.ID, from.ID, to.ID, h.Currency, amount)
		e.ID, e.PostedAt = uuid.NewString(), now
		h.Status, h.CapturedAmount = ledger.HoldCaptured, amount
		c := ledger.Capture{Hold: h, Entry: e}

		tail := &pgx.Batch{}
		tail.Queue(sqlFinishHold, h.ID, holdStatusName(h.Status), amount)
		if err := queueRequest(tail, r.RequestID, fp, c, now); err != nil {
			return err
		}
		if err := s.post(ctx, tx, e, []ledger.Account{from, to}, h.ID, tail); err != nil {
			return err
		}
		out = c
		return nil
	})
	return out, err
}

// VoidHold implements ledger.Ledger.
func (s *Store) VoidHold(ctx context.Context, r ledger.VoidHoldRequest) (ledger.Hold, error) {
	if err := r.Validate(); err != nil {
		return ledger.Hold{}, err
	}
	fp := r.Fingerprint()
	var out ledger.Hold
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		now := s.now()
		h, done, err := s.lockHold(ctx, tx, r.RequestID, r.HoldID, fp, &out)
		if done || err != nil {
			return err
		}
		if err := h.CheckVoid(now); err != nil {
			return err
		}
		h.Status = ledger.HoldVoided
		b := &pgx.Batch{}
		b.Queue(sqlFinishHold, h.ID, holdStatusName(h.Status), 0)
		if err := queueRequest(b, r.RequestID, fp, h, now); err != nil {
			return err
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		out = h
		return nil
	})
	return out, err
}

// lockHold looks up requestID and, unless it is a replay (done, with the
// stored result in out), locks and returns the hold.
func (s *Store) lockHold(ctx context.Context, tx pgx.Tx, requestID, holdID string, fp []byte, out any) (h ledger.Hold, done bool, err error) {
	b := &pgx.Batch{}
	b.Queue(sqlGetRequest, requestID)
	b.Queue(sqlGetHoldForUpdate, holdID)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if done, err := replayed(br.QueryRow(), requestID, fp, out); done || err != nil {
		return h, done, err
	}
	h, err = scanHold(br.QueryRow())
	if errors.Is(err, pgx.ErrNoRows) {
		return h, false, ledger.Errorf(ledger.CodeHoldNotFound, "hold %s not found", holdID)
	}
	if err != nil {
		return h, false, err
	}
	return h, false, br.Close()
}
