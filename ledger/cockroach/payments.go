package cockroach

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/corebanking/ledger/ledger"
)

// Deposit implements ledger.Ledger: the vault pays the cash in.
func (s *Store) Deposit(ctx context.Context, r ledger.DepositRequest) (ledger.Entry, error) {
	return postRequest(ctx, s, s.depositProposal, r)
}

// Transfer implements ledger.Ledger.
func (s *Store) Transfer(ctx context.Context, r ledger.TransferRequest) (ledger.Entry, error) {
	return postRequest(ctx, s, s.transferProposal, r)
}

// Withdraw implements ledger.Ledger: the ATM's cash account pays out.
func (s *Store) Withdraw(ctx context.Context, r ledger.WithdrawRequest) (ledger.Entry, error) {
	return postRequest(ctx, s, s.withdrawProposal, r)
}

// PostEntry implements ledger.Ledger.
func (s *Store) PostEntry(ctx context.Context, r ledger.PostEntryRequest) (ledger.Entry, error) {
	return postRequest(ctx, s, s.entryProposal, r)
}

// postRequest posts the proposal that propose makes of r.
func postRequest[R any](ctx context.Context, s *Store, propose func(context.Context, R) (*proposal, error), r R) (ledger.Entry, error) {
	p, err := propose(ctx, r)
	if err != nil {
		return ledger.Entry{}, err
	}
	return s.post(ctx, p)
}

func (s *Store) depositProposal(ctx context.Context, r ledger.DepositRequest) (*proposal, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	e := ledger.NewMove(ledger.EntryDeposit, r.RequestID, r.Memo, ledger.VaultAccountID(r.Currency), r.AccountID,
		r.Currency, r.Amount)
	return s.newProposal(ctx, r.Fingerprint(), e, productFlow{true}), nil // the vault pays
}

func (s *Store) transferProposal(ctx context.Context, r ledger.TransferRequest) (*proposal, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	e := ledger.NewMove(ledger.EntryTransfer, r.RequestID, r.Memo, r.From, r.To, r.Currency, r.Amount)
	return s.newProposal(ctx, r.Fingerprint(), e, nil), nil
}

func (s *Store) withdrawProposal(ctx context.Context, r ledger.WithdrawRequest) (*proposal, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	e := ledger.NewMove(ledger.EntryWithdrawal, r.RequestID, "ATM "+r.ATMID, r.AccountID,
		ledger.ATMAccountID(r.ATMID, r.Currency), r.Currency, r.Amount)
	return s.newProposal(ctx, r.Fingerprint(), e, nil), nil
}

func (s *Store) entryProposal(ctx context.Context, r ledger.PostEntryRequest) (*proposal, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return s.newProposal(ctx, r.Fingerprint(), r.Entry(), nil), nil
}

// ReverseEntry implements ledger.Ledger: it posts the mirror of the entry's
// postings. The statement refuses a second reversal of one entry, and the
// unique index of entries.reverses_entry_id refuses one that races.
func (s *Store) ReverseEntry(ctx context.Context, r ledger.ReverseEntryRequest) (ledger.Entry, error) {
	if err := r.Validate(); err != nil {
		return ledger.Entry{}, err
	}
	orig, err := s.getEntry(ctx, r.EntryID)
	if err != nil {
		return ledger.Entry{}, err
	}
	switch {
	case len(orig.Postings) == 0:
		return ledger.Entry{}, ledger.Errorf(ledger.CodeEntryNotReversible,
			"entry %s moves no money: there is nothing to reverse", orig.ID)
	case orig.Kind == ledger.EntryReversal:
		return ledger.Entry{}, ledger.Errorf(ledger.CodeEntryNotReversible,
			"entry %s is a reversal, which cannot be reversed", orig.ID)
	case !ledger.Privileged(ctx) && orig.Actor != ledger.ActorFrom(ctx):
		return ledger.Entry{}, ledger.Errorf(ledger.CodeReversalNotPermitted,
			"entry %s was posted by %s, not by %s", orig.ID, orig.Actor, ledger.ActorFrom(ctx))
	}
	memo := r.Memo
	if memo == "" {
		memo = "reversal of " + orig.ID
	}
	return s.post(ctx, s.newProposal(ctx, r.Fingerprint(), orig.Reversal(r.RequestID, memo), nil))
}

// getEntry reads an entry with its postings.
func (s *Store) getEntry(ctx context.Context, id string) (ledger.Entry, error) {
	rows, err := s.pool.Query(ctx, sqlGetEntry, id)
	if err != nil {
		return ledger.Entry{}, s.translate(err)
	}
	e := ledger.Entry{ID: id}
	found := false
	for rows.Next() {
		var kind, actor string
		var account, currency pgtype.Text
		var amount pgtype.Int8
		if err := rows.Scan(&kind, &actor, &e.RequestID, &e.Memo, &e.PostedAt, &e.ReversesEntryID, &account, &currency,
			&amount); err != nil {
			rows.Close()
			return ledger.Entry{}, s.translate(err)
		}
		found = true
		e.Kind, e.Actor, e.PostedAt = ledger.ParseEntryKind(kind), ledger.Actor(actor), e.PostedAt.UTC()
		if account.Valid {
			e.Postings = append(e.Postings, ledger.Posting{AccountID: account.String, Currency: currency.String,
				Amount: amount.Int64})
		}
	}
	if err := rows.Err(); err != nil {
		return ledger.Entry{}, s.translate(err)
	}
	if !found {
		return ledger.Entry{}, ledger.Errorf(ledger.CodeEntryNotFound, "entry %s not found", id)
	}
	return e, nil
}

// SubmitBatch implements ledger.Ledger. Each item is the proposal its own
// call would make. Independent items go through group commit, as many
// calls at once would; an atomic batch is one statement in one
// transaction.
func (s *Store) SubmitBatch(ctx context.Context, r ledger.SubmitBatchRequest) ([]ledger.BatchResult, error) {
	if err := r.Validate(ledger.MaxBatchItems); err != nil {
		return nil, err
	}
	results := make([]ledger.BatchResult, len(r.Items))
	props := make([]*proposal, 0, len(r.Items))
	at := make([]int, 0, len(r.Items)) // the item of each proposal
	seen := map[string]int{}
	for i, item := range r.Items {
		p, err := s.itemProposal(ctx, item)
		if err == nil {
			if j, dup := seen[p.rq.id]; dup {
				err = &ledger.Error{Code: ledger.CodeInvalidArgument, Message: "request id repeated in the batch",
					Fields: []ledger.FieldViolation{{Field: "request_id",
						Description: fmt.Sprintf("repeats the request id of item %d", j)}}}
			}
		}
		if err != nil {
			results[i].Err = err
			continue
		}
		seen[p.rq.id] = i
		props, at = append(props, p), append(at, i)
	}
	if r.Atomic {
		if len(props) < len(r.Items) {
			for k := range props {
				results[at[k]].Err = ledger.Errorf(ledger.CodeBatchItemNotApplied,
					"not applied: another item of the atomic batch was refused")
			}
			return results, nil
		}
		outs, errs, err := s.postAtomic(ctx, props)
		if err != nil {
			return nil, err
		}
		for k := range props {
			results[at[k]] = ledger.BatchResult{Entry: outs[k], Err: errs[k]}
		}
		return results, nil
	}
	for k, res := range s.postEach(ctx, props) {
		results[at[k]] = res
	}
	return results, nil
}

// itemProposal is the proposal that item's own call would make.
func (s *Store) itemProposal(ctx context.Context, item ledger.BatchItem) (*proposal, error) {
	switch {
	case item.Transfer != nil:
		return s.transferProposal(ctx, *item.Transfer)
	case item.Deposit != nil:
		return s.depositProposal(ctx, *item.Deposit)
	case item.Withdraw != nil:
		return s.withdrawProposal(ctx, *item.Withdraw)
	case item.PostEntry != nil:
		return s.entryProposal(ctx, *item.PostEntry)
	}
	return nil, &ledger.Error{Code: ledger.CodeInvalidArgument, Message: "empty batch item",
		Fields: []ledger.FieldViolation{{Field: "op", Description: "must be one of transfer, deposit, withdraw, post_entry"}}}
}

// postEach posts independent proposals, through group commit when it is
// on, and those it does not post alone, one after another.
func (s *Store) postEach(ctx context.Context, props []*proposal) []ledger.BatchResult {
	results := make([]ledger.BatchResult, len(props))
	if s.batcher != nil && len(props) > 0 {
		err := s.batcher.do(ctx, props...)
		for i, p := range props {
			select {
			case <-p.done:
				if !p.alone {
					results[i] = ledger.BatchResult{Entry: p.out, Err: p.err}
					continue
				}
			default:
				results[i].Err = outcome(p, err) // ctx ended before it was posted
				continue
			}
			results[i].Entry, results[i].Err = s.postAlone(ctx, p)
		}
		return results
	}
	for i, p := range props {
		results[i].Entry, results[i].Err = s.postAlone(ctx, p)
	}
	return results
}

// postAtomic posts props all or none, in one statement. It returns each
// one's entry or refusal (when one is refused, the others are refused with
// BATCH_ITEM_NOT_APPLIED), or an error that is every item's.
//
// A request done before is not posted again: its item gets its stored
// result. Like a lone entry, an attempt does not look the records up
// unless an earlier one failed on one, or the batch was refused: then it
// looks, and if some were done before, posts the rest again.
func (s *Store) postAtomic(ctx context.Context, props []*proposal) ([]ledger.Entry, []error, error) {
	outs := make([]ledger.Entry, len(props))
	errs := make([]error, len(props))
	lookup := false
	err := s.withSystemAccounts(ctx, func() error {
		return s.inTx(ctx, func(t *txn) error {
			now := s.now()
			clear(errs)
			done := make([]bool, len(props))
			if lookup || t.lookup {
				if conflict, err := lookupAll(ctx, t, props, outs, errs, done); err != nil || conflict {
					return err
				}
			}
			var todo []*proposal
			var at []int
			for i, p := range props {
				if !done[i] {
					p.begin(now)
					s.pickShards(p)
					todo, at = append(todo, p), append(at, i)
				}
			}
			if len(todo) == 0 {
				return nil
			}
			b := &pgx.Batch{}
			if onPostgres(t.conn) {
				b.Queue(sqlGenericPlan)
			}
			if err := queuePost(b, todo, now, true); err != nil {
				return err
			}
			if err := t.commit(ctx, b); err != nil {
				return err
			}
			verdicts := s.verdicts(todo, true)
			if todo[0].posted {
				for k, p := range todo {
					outs[at[k]] = p.e
				}
				return nil
			}
			if !lookup && !t.lookup {
				// A refusal may hide requests done before, whose items
				// must get their results: look, and if there are any,
				// post the rest again.
				var n int64
				if err := t.conn.QueryRow(ctx, sqlCountRequests, actorsOf(props), idsOf(props)).Scan(&n); err != nil {
					return err
				}
				if n > 0 {
					lookup = true
					return retryError{errors.New("an atomic batch holds requests done before")}
				}
			}
			for k, p := range todo {
				err := s.refusal(p, verdicts[k])
				var m missingSystemAccount
				if errors.As(err, &m) {
					return err
				}
				errs[at[k]] = err
			}
			return nil
		})
	})
	return outs, errs, err
}

// lookupAll looks up the records of props' requests: each done before
// gets its result in outs and is marked in done; each done with other
// content its IDEMPOTENCY_CONFLICT in errs. With a conflict, the batch is
// refused: conflict is true and the others are marked not applied.
func lookupAll(ctx context.Context, t *txn, props []*proposal, outs []ledger.Entry, errs []error, done []bool) (conflict bool, err error) {
	b := &pgx.Batch{}
	for i, p := range props {
		p.rq.out, p.rq.replay = &outs[i], false
		p.rq.queueCheck(b, &errs[i])
	}
	if err := t.exec(ctx, b); err != nil {
		return false, err
	}
	for i, p := range props {
		done[i] = p.rq.replay
		conflict = conflict || errs[i] != nil
	}
	if conflict {
		notApplied(errs, done)
	}
	return conflict, nil
}

// notApplied refuses, with BATCH_ITEM_NOT_APPLIED, every item of an atomic
// batch that is neither done nor refused already.
func notApplied(errs []error, done []bool) {
	for i := range errs {
		if errs[i] == nil && !done[i] {
			errs[i] = ledger.Errorf(ledger.CodeBatchItemNotApplied, "not applied: another item of the atomic batch was refused")
		}
	}
}

func actorsOf(props []*proposal) []string {
	out := make([]string, len(props))
	for i, p := range props {
		out[i] = string(p.rq.actor)
	}
	return out
}

func idsOf(props []*proposal) []string {
	out := make([]string, len(props))
	for i, p := range props {
		out[i] = p.rq.id
	}
	return out
}
