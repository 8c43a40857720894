package ledger

import "fmt"

// Leg is one posting of an entry that the ledger is asked to post, with
// what its balance row held before the batch the entry is posted in.
type Leg struct {
	Posting Posting
	// Shard is the balance row of the account that the posting changes.
	Shard int
	// MayDebitInternal lets the posting debit an internal account: the
	// caller is privileged, or the posting is a product flow that debits
	// the bank by design (a deposit's vault leg).
	MayDebitInternal bool

	// Found reports whether the account and its balance row exist; the
	// fields below are known only then.
	Found   bool
	Account Account
	// Posted is the balance row's amount before the batch, and Held the
	// account's active holds (read for debits only).
	Posted int64
	Held   int64
}

// Proposal is one entry that the ledger is asked to post.
type Proposal struct {
	Legs []Leg
	// AlreadyReversed reports that the entry reverses an entry that has
	// been reversed already.
	AlreadyReversed bool
}

// CheckProposals states the rules of posting: it returns, for each entry of
// a batch posted in one statement, why it may not be posted, or nil. The
// store's statement applies the same rules where they gate its writes, and
// a property test holds the two to the same verdict; this function is what
// says why.
//
// For each entry, in this order: it must not reverse an entry reversed
// already; each account must exist; a debit of an internal account needs
// MayDebitInternal; each account must be active and hold the posting's
// currency; a debit must leave a customer account's available balance
// (posted minus held) at zero or more, and every balance row within
// ±MaxBalance.
//
// The entries of a batch share balance rows, and the batch is posted in
// order. When atomic, every entry is posted or none: each entry is checked
// on its rows as the entries before it in the batch leave them, and when
// one is refused the others are refused with BATCH_ITEM_NOT_APPLIED. When
// not, an entry is checked as if every earlier debit of the batch on its
// rows were posted and none of their credits (for the upper limit: every
// credit and no debit), so that whichever of them are refused, the rows
// never break a rule; an entry refused only for that may succeed when
// posted again alone.
func CheckProposals(batch []Proposal, atomic bool) []error {
	type row struct {
		account string
		shard   int
	}
	down, up := map[row]int64{}, map[row]int64{} // earlier debits and credits, as described above
	errs := make([]error, len(batch))
	failed := -1
	for i, p := range batch {
		errs[i] = checkProposal(p, func(l Leg) (int64, int64) {
			r := row{l.Posting.AccountID, l.Shard}
			return down[r], up[r]
		})
		if errs[i] != nil && failed < 0 {
			failed = i
		}
		for _, l := range p.Legs {
			r := row{l.Posting.AccountID, l.Shard}
			if a := l.Posting.Amount; atomic || a < 0 {
				down[r] += a
			}
			if a := l.Posting.Amount; atomic || a > 0 {
				up[r] += a
			}
		}
	}
	if atomic && failed >= 0 {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = Errorf(CodeBatchItemNotApplied, "not applied: item %d of the atomic batch was refused", failed)
			}
		}
	}
	return errs
}

// checkProposal applies the rules to one entry; before returns what the
// batch's earlier entries change on a leg's row, for debits and credits.
func checkProposal(p Proposal, before func(Leg) (down, up int64)) error {
	if p.AlreadyReversed {
		return Errorf(CodeEntryAlreadyReversed, "the entry has been reversed already")
	}
	for _, l := range p.Legs {
		if !l.Found {
			return Errorf(CodeAccountNotFound, "account %s not found", l.Posting.AccountID)
		}
		if l.Posting.Amount < 0 {
			if err := l.Account.CheckDebitor(l.MayDebitInternal); err != nil {
				return err
			}
		}
		if err := l.Account.CheckPostable(l.Posting.Currency); err != nil {
			return err
		}
	}
	for _, l := range p.Legs {
		down, up := before(l)
		var err error
		if amount := l.Posting.Amount; amount < 0 {
			err = l.Account.CheckDebit(l.Posted+down, l.Held, -amount)
		} else {
			err = CheckBalance(l.Account.ID, l.Posted+up+amount)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// String describes the leg for logs.
func (l Leg) String() string {
	return fmt.Sprintf("%s/%d %+d %s", l.Posting.AccountID, l.Shard, l.Posting.Amount, l.Posting.Currency)
}
