package ledger

import (
	"fmt"
	"strings"
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
	// EntryGeneral is an entry of 2 to MaxPostings postings that its caller
	// composed (PostEntry): a fee, a split payment, a correction.
	EntryGeneral
	// EntryReversal mirrors the postings of an earlier entry
	// (Entry.ReversesEntryID).
	EntryReversal
	EntryAccountStatusChange
	EntryPromoCreation
	// EntryPromoPayout pays a matured subscription back: its principal,
	// interest at the promo's rate, less the tax withheld.
	EntryPromoPayout
	// EntryPromoCancellation pays a subscription back early: its
	// principal, interest at the promo's early rate, less the tax withheld.
	EntryPromoCancellation
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
	case EntryGeneral:
		return "GENERAL"
	case EntryReversal:
		return "REVERSAL"
	case EntryAccountStatusChange:
		return "ACCOUNT_STATUS_CHANGE"
	case EntryPromoCreation:
		return "PROMO_CREATION"
	case EntryPromoPayout:
		return "PROMO_PAYOUT"
	case EntryPromoCancellation:
		return "PROMO_CANCELLATION"
	}
	return fmt.Sprintf("EntryKind(%d)", int(k))
}

// ParseEntryKind is the kind whose String is name, or EntryUnspecified.
func ParseEntryKind(name string) EntryKind { return entryKindByName[name] }

// entryKindByName holds every kind that String names, up to the first
// it does not.
var entryKindByName = func() map[string]EntryKind {
	m := map[string]EntryKind{}
	for k := EntryDeposit; !strings.HasPrefix(k.String(), "EntryKind("); k++ {
		m[k.String()] = k
	}
	return m
}()

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
	// ReversesEntryID is set on a reversal: the entry whose postings it
	// mirrors. An entry is reversed at most once.
	ReversesEntryID string `json:",omitempty"`
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

// Validate checks the double-entry rules: 2 to MaxPostings postings, no
// zero or out-of-range amount, one posting per account, and a sum of zero in
// each currency.
func (e Entry) Validate() error {
	if len(e.Postings) < 2 || len(e.Postings) > MaxPostings {
		return fmt.Errorf("entry has %d postings, needs 2 to %d", len(e.Postings), MaxPostings)
	}
	sums := map[string]int64{}
	seen := make(map[string]bool, len(e.Postings))
	for _, p := range e.Postings {
		if p.Amount == 0 || p.Amount > MaxAmount || p.Amount < -MaxAmount {
			return fmt.Errorf("posting on %s has amount %d", p.AccountID, p.Amount)
		}
		if seen[p.AccountID] {
			return fmt.Errorf("entry posts twice to %s", p.AccountID)
		}
		seen[p.AccountID] = true
		sums[p.Currency] += p.Amount // at most MaxPostings*MaxAmount: no overflow
	}
	for c, sum := range sums {
		if sum != 0 {
			return fmt.Errorf("entry postings in %s sum to %d, not 0", c, sum)
		}
	}
	return nil
}

// Reversal returns the entry that reverses e: the mirror of each of its
// postings.
func (e Entry) Reversal(requestID, memo string) Entry {
	r := Entry{Kind: EntryReversal, RequestID: requestID, Memo: memo, ReversesEntryID: e.ID,
		Postings: make([]Posting, len(e.Postings))}
	for i, p := range e.Postings {
		r.Postings[i] = Posting{AccountID: p.AccountID, Currency: p.Currency, Amount: -p.Amount}
	}
	return r
}
