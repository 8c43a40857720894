package ledger

import (
	"fmt"
	"maps"
	"slices"
)

// Limits of the posting engine's requests.
const (
	// MaxPostings is the most postings one entry may have.
	MaxPostings = 16
	// MaxBatchItems is the most items one SubmitBatch may carry; a
	// compartment may allow fewer.
	MaxBatchItems = 1000
)

// PostEntryRequest posts an entry its caller composed: 2 to MaxPostings
// postings, each account at most once, summing to zero in each currency.
type PostEntryRequest struct {
	RequestID string
	Postings  []Posting
	Memo      string
}

// ReverseEntryRequest posts the mirror of an earlier entry's postings.
type ReverseEntryRequest struct {
	RequestID string
	EntryID   string
	Memo      string
}

// BatchItem is one operation of a batch: exactly one field is set.
type BatchItem struct {
	Transfer  *TransferRequest
	Deposit   *DepositRequest
	Withdraw  *WithdrawRequest
	PostEntry *PostEntryRequest
}

// SubmitBatchRequest is a batch of items. Independent items succeed or fail
// each on its own; Atomic items all succeed, or none is applied.
type SubmitBatchRequest struct {
	Items  []BatchItem
	Atomic bool
}

// BatchResult is one item's outcome: its entry, or why it was refused.
type BatchResult struct {
	Entry Entry
	Err   error
}

// Validate reports every invalid field of r.
func (r PostEntryRequest) Validate() error {
	var v violations
	checkID(&v, "request_id", r.RequestID, true)
	checkMemo(&v, r.Memo)
	if n := len(r.Postings); n < 2 || n > MaxPostings {
		v.add("postings", "must have 2 to %d postings", MaxPostings)
		return v.err()
	}
	seen := make(map[string]int, len(r.Postings))
	sums := map[string]int64{}
	for i, p := range r.Postings {
		field := fmt.Sprintf("postings[%d]", i)
		checkID(&v, field+".account_id", p.AccountID, true)
		if j, ok := seen[p.AccountID]; ok && p.AccountID != "" {
			v.add(field+".account_id", "repeats postings[%d]: each account at most once per entry", j)
		}
		seen[p.AccountID] = i
		if p.Amount == 0 || p.Amount > MaxAmount || p.Amount < -MaxAmount {
			v.add(field+".amount", "must be between -%d and %d and not 0", MaxAmount, MaxAmount)
		}
		if _, ok := MinorUnits(p.Currency); !ok {
			v.add(field+".currency", "must be a supported ISO 4217 code")
		}
		sums[p.Currency] += p.Amount
	}
	for _, c := range slices.Sorted(maps.Keys(sums)) {
		if sums[c] != 0 {
			v.add("postings", "must sum to zero in each currency: %s sums to %d", c, sums[c])
		}
	}
	return v.err()
}

// Entry is the entry r posts.
func (r PostEntryRequest) Entry() Entry {
	ps := make([]Posting, len(r.Postings))
	copy(ps, r.Postings)
	return Entry{Kind: EntryGeneral, RequestID: r.RequestID, Memo: r.Memo, Postings: ps}
}

// Validate reports every invalid field of r.
func (r ReverseEntryRequest) Validate() error {
	var v violations
	checkID(&v, "request_id", r.RequestID, true)
	checkEntryID(&v, "entry_id", r.EntryID)
	checkMemo(&v, r.Memo)
	return v.err()
}

// Validate reports every invalid field of r: the batch's own fields only.
// Each item is validated as its own call would be.
func (r SubmitBatchRequest) Validate(maxItems int) error {
	var v violations
	switch {
	case len(r.Items) == 0:
		v.add("items", "must have at least one item")
	case len(r.Items) > maxItems:
		v.add("items", "must have at most %d items", maxItems)
	}
	return v.err()
}

// Fingerprint returns the SHA-256 of r's content.
func (r PostEntryRequest) Fingerprint() []byte {
	fields := []string{r.Memo}
	for _, p := range r.Postings {
		fields = append(fields, p.AccountID, p.Currency, itoa(p.Amount))
	}
	return fingerprint("post_entry", fields...)
}

// Fingerprint returns the SHA-256 of r's content.
func (r ReverseEntryRequest) Fingerprint() []byte {
	return fingerprint("reverse_entry", r.EntryID, r.Memo)
}
