package cockroach

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"

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
	records, err := pgx.CollectRows(rows, scanRecord)
	if err != nil || len(records) == 0 {
		return records, s.translate(err)
	}
	bySeq := map[int64][]ledger.Posting{}
	rows, err = s.pool.Query(ctx, sqlJournalPostings, q.After, records[len(records)-1].Sequence)
	if err == nil {
		err = scanPostings(rows, bySeq)
	}
	if err != nil {
		return nil, s.translate(err)
	}
	for i := range records {
		records[i].Entry.Postings = bySeq[records[i].Sequence]
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
// balances a page of accounts at a time. From the genesis it also rebuilds
// the Merkle tree and checks it against every stored checkpoint (their
// signatures are the client's to check: the store has no key), and the
// stored tree's root against the rebuilt one.
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
	var stop bool
	switch {
	case from == 1:
		v, stop, err = s.verifyTree(ctx, to, to == head.Sequence)
	case from <= to:
		v, stop, err = s.verifyChain(ctx, from, to)
	}
	if err != nil || stop {
		return v, err
	}
	for _, check := range []func(context.Context) (string, error){s.strayPosting, s.unsealedEntry, s.badBalance} {
		bad, err := check(ctx)
		if err != nil || bad != "" {
			v.Reason = bad
			return v, err
		}
	}
	v.OK = true
	return v, nil
}

// verifyTree checks records 1..to, a page at a time, against the chain and
// the stored checkpoints, and, when to is the head, that no checkpoint
// commits to more records and that the stored tree has the rebuilt root.
// It reports stop when a check failed.
func (s *Store) verifyTree(ctx context.Context, to int64, whole bool) (v ledger.Verification, stop bool, err error) {
	jv, err := ledger.NewJournalVerifier(nil)
	if err != nil {
		return v, false, err
	}
	fail := func(e error) (ledger.Verification, bool, error) {
		var je *ledger.JournalError
		if errors.As(e, &je) {
			v.BadSequence, v.Reason = je.Sequence, je.Reason
		} else {
			v.Reason = e.Error()
		}
		v.Checkpoint = jv.Good()
		return v, true, nil
	}
	for jv.Last().Sequence < to {
		at := jv.Last().Sequence
		page, err := s.ListJournal(ctx, ledger.JournalQuery{After: at, Limit: int(min(ledger.MaxJournalPage, to-at))})
		if err != nil {
			return v, false, err
		}
		if len(page) == 0 {
			return fail(&ledger.JournalError{Sequence: at + 1, Reason: "the record is missing"})
		}
		cps, err := s.checkpointsIn(ctx, at, page[len(page)-1].Sequence)
		if err != nil {
			return v, false, err
		}
		if err := jv.Expect(cps...); err != nil {
			return fail(err)
		}
		for _, rec := range page {
			if je := jv.Check(rec); je != nil {
				return fail(je)
			}
			v.Checked++
		}
	}
	v.Checkpoint, v.Root = jv.Last(), jv.Root()
	_, reproduced := jv.Checkpoints()
	v.Checkpoints = int64(reproduced)
	if !whole {
		return v, false, nil
	}
	cps, err := s.checkpointsIn(ctx, to, math.MaxInt64)
	if err != nil {
		return v, false, err
	}
	if err := jv.Expect(cps...); err != nil {
		return fail(err)
	}
	if je := jv.End(); je != nil {
		return fail(je)
	}
	return s.checkStoredTree(ctx, v, jv)
}

// checkStoredTree compares the stored tree's root with the one rebuilt
// from the records, when the tree has caught up with them.
func (s *Store) checkStoredTree(ctx context.Context, v ledger.Verification, jv *ledger.JournalVerifier) (ledger.Verification, bool, error) {
	var tree treeHead
	b := &pgx.Batch{}
	tree.queue(b)
	if err := s.send(ctx, b); err != nil || tree.size != jv.Last().Sequence || tree.size == 0 {
		return v, false, err
	}
	root, err := s.storedRoot(ctx, tree.size)
	if err != nil {
		return v, false, err
	}
	if !bytes.Equal(root, jv.Root()) {
		v.Reason = fmt.Sprintf("the stored Merkle tree of %d records has root %x, the records %x", tree.size, root, jv.Root())
		return v, true, nil
	}
	return v, false, nil
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

// unsealedEntry names an entry that is not sealed exactly once: neither
// sealed nor waiting to be (its record was cut from the journal), sealed
// twice, or sealed and waiting again; or returns "".
func (s *Store) unsealedEntry(ctx context.Context) (string, error) {
	var unsealed, twice string
	b := &pgx.Batch{}
	for sql, out := range map[string]*string{sqlUnsealedEntry: &unsealed, sqlSealedTwice: &twice} {
		b.Queue(sql).QueryRow(func(row pgx.Row) error {
			err := row.Scan(out)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return err
		})
	}
	switch err := s.send(ctx, b); {
	case err != nil:
		return "", err
	case unsealed != "":
		return fmt.Sprintf("entry %s is not in the journal, nor waiting to be sealed", unsealed), nil
	case twice != "":
		return fmt.Sprintf("entry %s is sealed more than once", twice), nil
	}
	return "", nil
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
