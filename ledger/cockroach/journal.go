package cockroach

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/ledger"
)

var _ ledger.Journal = (*Store)(nil)

// ListJournal implements ledger.Journal. Sequences have no gaps, so the
// page is the records After+1..After+Limit, and its postings are read by
// that range.
func (s *Store) ListJournal(ctx context.Context, q ledger.JournalQuery) ([]ledger.Record, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, sqlJournalPage, q.After, q.PageSize())
	if err != nil {
		return nil, s.translate(err)
	}
	records, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.Record, error) {
		var r ledger.Record
		var kind, actor string
		var at *time.Time
		err := row.Scan(&r.Sequence, &r.PrevHash, &r.Hash, &r.SealedAt, &r.SealedBy, &r.LeaseEpoch, &r.Entry.ID,
			&kind, &actor, &r.Entry.RequestID, &r.Entry.Memo, &at, &r.Entry.ReversesEntryID)
		r.SealedAt, r.Entry.Kind, r.Entry.Actor = r.SealedAt.UTC(), entryKinds[kind], ledger.Actor(actor)
		if at != nil {
			r.Entry.PostedAt = at.UTC()
		}
		return r, err
	})
	if err != nil || len(records) == 0 {
		return records, s.translate(err)
	}
	byID := map[string][]ledger.Posting{}
	rows, err = s.pool.Query(ctx, sqlJournalPostings, q.After, records[len(records)-1].Sequence)
	if err == nil {
		err = scanPostings(rows, byID)
	}
	if err != nil {
		return nil, s.translate(err)
	}
	for i := range records {
		records[i].Entry.Postings = byID[records[i].Entry.ID]
	}
	return records, nil
}

// Checkpoint implements ledger.Journal.
func (s *Store) Checkpoint(ctx context.Context) (ledger.Checkpoint, error) {
	c := ledger.Checkpoint{Hash: ledger.GenesisHash()}
	err := s.pool.QueryRow(ctx, sqlJournalHead).Scan(&c.Sequence, &c.Hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, nil
	}
	return c, s.translate(err)
}

// balancePage is how many accounts one statement of the balance check reads.
const balancePage = 500

// VerifyJournal implements ledger.Journal. It reads the journal a page at
// a time, so its memory does not grow with the journal, and checks the
// balances a page of accounts at a time.
func (s *Store) VerifyJournal(ctx context.Context, r ledger.JournalRange) (ledger.Verification, error) {
	var v ledger.Verification
	if err := r.Validate(); err != nil {
		return v, err
	}
	head, err := s.Checkpoint(ctx)
	if err != nil {
		return v, err
	}
	from, to := max(r.From, 1), r.To
	if to == 0 || to > head.Sequence {
		to = head.Sequence
	}
	v.Checkpoint = head
	if from <= to {
		var stop bool
		if v, stop, err = s.verifyChain(ctx, from, to); err != nil || stop {
			return v, err
		}
	}
	bad, err := s.strayPosting(ctx)
	if err == nil && bad == "" {
		bad, err = s.badBalance(ctx)
	}
	if err != nil || bad != "" {
		v.Reason = bad
		return v, err
	}
	v.OK = true
	return v, nil
}

// verifyChain checks records from..to, a page at a time. It reports stop
// when a record failed.
func (s *Store) verifyChain(ctx context.Context, from, to int64) (v ledger.Verification, stop bool, err error) {
	start := ledger.Checkpoint{Sequence: from - 1, Hash: ledger.GenesisHash()}
	if from > 1 {
		if err := s.pool.QueryRow(ctx, sqlJournalHash, start.Sequence).Scan(&start.Hash); err != nil {
			return v, false, s.translate(err)
		}
	}
	chain := ledger.NewChainVerifier(start)
	for chain.Last.Sequence < to {
		page, err := s.ListJournal(ctx, ledger.JournalQuery{After: chain.Last.Sequence,
			Limit: int(min(ledger.MaxJournalPage, to-chain.Last.Sequence))})
		if err != nil {
			return v, false, err
		}
		if len(page) == 0 {
			return failed(chain, v, "the record is missing"), true, nil
		}
		for _, rec := range page {
			if err := chain.Check(rec); err != nil {
				return failed(chain, v, err.Error()), true, nil
			}
			v.Checked++
		}
	}
	v.Checkpoint = chain.Last
	return v, false, nil
}

// failed is the verification that stopped at the record after chain's last.
func failed(chain *ledger.ChainVerifier, v ledger.Verification, reason string) ledger.Verification {
	v.BadSequence, v.Reason, v.Checkpoint = chain.Last.Sequence+1, reason, chain.Last
	return v
}

// strayPosting names the first posting that the journal does not see,
// because its entry does not list it, or returns "".
func (s *Store) strayPosting(ctx context.Context) (string, error) {
	var entry, account string
	err := s.pool.QueryRow(ctx, sqlStrayPosting).Scan(&entry, &account)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", nil
	case err != nil:
		return "", s.translate(err)
	}
	return fmt.Sprintf("posting of entry %s to account %s is not in its entry", entry, account), nil
}

// badBalance returns why the first account whose balance rows differ from
// the sum of its postings is wrong, or "".
func (s *Store) badBalance(ctx context.Context) (string, error) {
	after := ""
	for {
		rows, err := s.pool.Query(ctx, sqlBalancePage, after, balancePage)
		if err != nil {
			return "", s.translate(err)
		}
		var id, bad string
		var bal, sum int64
		n := 0
		_, err = pgx.ForEachRow(rows, []any{&id, &bal, &sum}, func() error {
			n++
			if bal != sum && bad == "" {
				bad = fmt.Sprintf("account %s has balance %d but its postings sum to %d", id, bal, sum)
			}
			after = id
			return nil
		})
		if err != nil || bad != "" || n < balancePage {
			return bad, s.translate(err)
		}
	}
}
