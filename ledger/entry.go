package ledger

import (
	"fmt"
	"time"
)

// EntryKind says which operation produced a journal entry.
type EntryKind int

// Entry kinds.
const (
	EntryUnspecified EntryKind = iota
	EntryDeposit
	EntryTransfer
	EntryWithdrawal
	EntryHoldCapture
	EntryPromoSubscription
	// Entries without postings record the other events an auditor must see.
	EntryAccountOpening
	EntryHoldPlacement
	EntryHoldVoid
	EntryAccountStatusChange
	EntryPromoCreation
)

// String returns the kind's name.
func (k EntryKind) String() string {
	switch k {
	case EntryDeposit:
		return "DEPOSIT"
	case EntryTransfer:
		return "TRANSFER"
	case EntryWithdrawal:
		return "WITHDRAWAL"
	case EntryHoldCapture:
		return "HOLD_CAPTURE"
	case EntryPromoSubscription:
		return "PROMO_SUBSCRIPTION"
	case EntryAccountOpening:
		return "ACCOUNT_OPENING"
	case EntryHoldPlacement:
		return "HOLD_PLACEMENT"
	case EntryHoldVoid:
		return "HOLD_VOID"
	case EntryAccountStatusChange:
		return "ACCOUNT_STATUS_CHANGE"
	case EntryPromoCreation:
		return "PROMO_CREATION"
	}
	return fmt.Sprintf("EntryKind(%d)", int(k))
}

// Posting is one leg of an entry: a signed amount on one account. Positive
// credits the account, negative debits it.
type Posting struct {
	AccountID string
	Currency  string
	Amount    int64
}

// Entry is one journal entry. Entries are written once and never changed.
// Entries that move money have postings; the rest (an account opened or
// its status changed, a hold placed or voided, a promotion created) record
// the event in their memo.
type Entry struct {
	ID        string
	Kind      EntryKind
	RequestID string
	// Actor is who caused the entry (see ActorFrom).
	Actor    Actor
	Memo     string
	Postings []Posting
	PostedAt time.Time
}

// NewMove returns an entry that moves amount from one account to another:
// the two postings of every operation the ledger performs today.
func NewMove(kind EntryKind, requestID, memo, from, to, currency string, amount int64) Entry {
	return Entry{
		Kind:      kind,
		RequestID: requestID,
		Memo:      memo,
		Postings: []Posting{
			{AccountID: from, Currency: currency, Amount: -amount},
			{AccountID: to, Currency: currency, Amount: amount},
		},
	}
}

// Validate checks the double-entry rules: at least two postings, no zero or
// out-of-range amount, one currency only, one posting per account, and a sum
// of zero.
func (e Entry) Validate() error {
	if len(e.Postings) < 2 {
		return fmt.Errorf("entry has %d postings, needs at least 2", len(e.Postings))
	}
	var sum int64
	seen := make(map[string]bool, len(e.Postings))
	for _, p := range e.Postings {
		if p.Amount == 0 || p.Amount > MaxAmount || p.Amount < -MaxAmount {
			return fmt.Errorf("posting on %s has amount %d", p.AccountID, p.Amount)
		}
		if p.Currency != e.Postings[0].Currency {
			return fmt.Errorf("entry mixes %s and %s", e.Postings[0].Currency, p.Currency)
		}
		if seen[p.AccountID] {
			return fmt.Errorf("entry posts twice to %s", p.AccountID)
		}
		seen[p.AccountID] = true
		sum += p.Amount // bounded by len*MaxAmount: cannot overflow for sane lengths
	}
	if sum != 0 {
		return fmt.Errorf("entry postings sum to %d, not 0", sum)
	}
	return nil
}
