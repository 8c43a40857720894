package soak

import (
	"context"
	"time"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// sealWait bounds the wait for the sealers to catch up after the run.
const sealWait = 2 * time.Minute

// checkJournal waits until the sealers have sealed every committed entry,
// then verifies the journal twice: on the server (VerifyJournal: the chain,
// each entry balanced, every balance the sum of its postings) and here,
// recomputing the hash chain from the records alone.
func (s *Soak) checkJournal(ctx context.Context) Check {
	c := Check{Name: "the journal seals every entry, and verifies on the server and here"}
	var pending, entries int64
	for deadline := time.Now().Add(sealWait); ; {
		if err := s.db.check.QueryRow(ctx, "SELECT count(*) FROM journal_pending").Scan(&pending); err != nil {
			c.fail("read the sealers' backlog: %v", err)
			return c
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) || !sleep(ctx, 200*time.Millisecond) {
			c.fail("%d committed entries still unsealed %v after the run", pending, sealWait)
			return c
		}
	}
	if err := s.db.check.QueryRow(ctx, "SELECT count(*) FROM entries").Scan(&entries); err != nil {
		c.fail("count the entries: %v", err)
		return c
	}
	audit := s.instances[0].audit
	res, err := audit.VerifyJournal(ctx, &ledgerv1.VerifyJournalRequest{})
	switch {
	case err != nil:
		c.fail("VerifyJournal: %v", err)
	case !res.GetOk():
		c.fail("VerifyJournal: sequence %d: %s", res.GetBadSequence(), res.GetReason())
	case res.GetRecordsChecked() != entries:
		c.fail("VerifyJournal checked %d records, the books hold %d entries", res.GetRecordsChecked(), entries)
	}
	chain := ledger.NewChainVerifier(ledger.Checkpoint{Hash: ledger.GenesisHash()})
	for {
		page, err := audit.ListJournal(ctx, &ledgerv1.ListJournalRequest{AfterSequence: chain.Last.Sequence, Limit: ledger.MaxJournalPage})
		if err != nil {
			c.fail("ListJournal after %d: %v", chain.Last.Sequence, err)
			return c
		}
		if len(page.GetRecords()) == 0 {
			break
		}
		for _, r := range page.GetRecords() {
			if err := chain.Check(r.Ledger()); err != nil {
				c.fail("the chain breaks at sequence %d: %v", r.GetSequence(), err)
				return c
			}
		}
	}
	if chain.Last.Sequence != entries {
		c.fail("the chain holds %d records, the books %d entries", chain.Last.Sequence, entries)
	}
	return c
}
