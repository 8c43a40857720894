package ledger

import (
	"fmt"
	"time"
)

// HoldStatus is where a hold is in its life.
type HoldStatus int

// Hold statuses. A hold is stored ACTIVE until captured or voided; an ACTIVE
// hold past its expiry is EXPIRED (see Hold.StatusAt).
const (
	HoldUnspecified HoldStatus = iota
	HoldActive
	HoldCaptured
	HoldVoided
	HoldExpired
)

// String returns the status's name.
func (s HoldStatus) String() string {
	switch s {
	case HoldActive:
		return "ACTIVE"
	case HoldCaptured:
		return "CAPTURED"
	case HoldVoided:
		return "VOIDED"
	case HoldExpired:
		return "EXPIRED"
	}
	return fmt.Sprintf("HoldStatus(%d)", int(s))
}

// Hold reserves part of a customer's available balance, for example an ATM
// authorization, until it is captured (once, fully or partly), voided, or
// expires.
type Hold struct {
	ID             string
	AccountID      string
	Currency       string
	Amount         int64
	CapturedAmount int64
	Status         HoldStatus
	ATMID          string
	CreatedAt      time.Time
	ExpiresAt      time.Time
}

// StatusAt is the hold's status at time now: an active hold whose expiry has
// passed is expired and no longer reduces the available balance.
func (h Hold) StatusAt(now time.Time) HoldStatus {
	if h.Status == HoldActive && !now.Before(h.ExpiresAt) {
		return HoldExpired
	}
	return h.Status
}

// CheckCapture returns why amount cannot be captured from h at time now, or
// nil if it can.
func (h Hold) CheckCapture(amount int64, now time.Time) error {
	switch h.StatusAt(now) {
	case HoldActive:
	case HoldExpired:
		return Errorf(CodeHoldExpired, "hold %s expired at %s", h.ID, h.ExpiresAt.Format(time.RFC3339))
	default:
		return Errorf(CodeHoldNotActive, "hold %s is already %s", h.ID, h.Status)
	}
	if amount > h.Amount {
		return Errorf(CodeHoldAmountExceeded, "capture of %d exceeds hold %s of %d", amount, h.ID, h.Amount)
	}
	return nil
}

// CheckVoid returns why h cannot be voided at time now, or nil if it can.
func (h Hold) CheckVoid(now time.Time) error {
	switch h.StatusAt(now) {
	case HoldActive:
		return nil
	case HoldExpired:
		return Errorf(CodeHoldExpired, "hold %s expired at %s", h.ID, h.ExpiresAt.Format(time.RFC3339))
	}
	return Errorf(CodeHoldNotActive, "hold %s is already %s", h.ID, h.Status)
}

// CounterAccountID is the internal account a capture of h credits.
func (h Hold) CounterAccountID() string {
	if h.ATMID != "" {
		return ATMAccountID(h.ATMID, h.Currency)
	}
	return SettlementAccountID(h.Currency)
}
