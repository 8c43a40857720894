package ctl

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"

	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

func (c *cli) audit() ledgerv1.AuditServiceClient { return ledgerv1.NewAuditServiceClient(c.conn) }

// tailDefault is how many records journal tail shows without --after.
const tailDefault = 20

// journalTail prints the last records, or those after --after, and with
// --follow every new one as it is sealed until interrupted.
func journalTail(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	after := fs.Int64("after", -1, fmt.Sprintf("show the records after `sequence` N (default: the last %d)", tailDefault))
	follow := fs.Bool("follow", false, "keep printing new records as they are sealed, until interrupted")
	return func(ctx context.Context, _ []string) error {
		if *after < -1 {
			return usagef(nil, "--after must not be negative")
		}
		if *after == -1 {
			head, err := call(ctx, c, c.audit().GetCheckpoint, &ledgerv1.GetCheckpointRequest{})
			if err != nil {
				return err
			}
			*after = max(head.GetCheckpoint().GetSequence()-tailDefault, 0)
		}
		if *follow {
			return c.follow(ctx, *after)
		}
		return c.eachRecord(ctx, *after, c.printRecord)
	}
}

// follow streams the records after after until the context ends.
func (c *cli) follow(ctx context.Context, after int64) error {
	stream, err := c.audit().StreamJournal(ctx, &ledgerv1.StreamJournalRequest{FromSequence: after + 1})
	if err != nil {
		return err
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted: the normal end of --follow
			}
			return err
		}
		if err := c.printRecord(resp.GetRecord()); err != nil {
			return err
		}
	}
}

// journalExport prints every record after --after as JSON lines.
func journalExport(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	after := fs.Int64("after", 0, "export the records after `sequence` N")
	return func(ctx context.Context, _ []string) error {
		if *after < 0 {
			return usagef(nil, "--after must not be negative")
		}
		return c.eachRecord(ctx, *after, func(r *ledgerv1.JournalRecord) error { return c.printJSON(r) })
	}
}

// errStop ends eachRecord early without an error to report.
var errStop = errors.New("stop")

// eachRecord pages through the records after after, in order, until the
// head, calling fn on each.
func (c *cli) eachRecord(ctx context.Context, after int64, fn func(*ledgerv1.JournalRecord) error) error {
	for {
		page, err := call(ctx, c, c.audit().ListJournal, &ledgerv1.ListJournalRequest{AfterSequence: after, Limit: ledger.MaxJournalPage})
		if err != nil {
			return err
		}
		if len(page.GetRecords()) == 0 {
			return nil
		}
		for _, r := range page.GetRecords() {
			if err := fn(r); err != nil {
				return err
			}
			after = r.GetSequence()
		}
	}
}

// printRecord prints one record: as one JSON line with --json, else a
// header line and its postings.
func (c *cli) printRecord(r *ledgerv1.JournalRecord) error {
	if c.g.json {
		return c.printJSON(r)
	}
	e := r.GetEntry()
	fmt.Fprintf(c.stdout, "%d  %s  %s  by %s  entry %s  hash %s\n", r.GetSequence(), formatTime(e.GetPostedAt()),
		label(e.GetKind().String(), "ENTRY_KIND_"), e.GetActor(), e.GetEntryId(), hex.EncodeToString(r.GetHash())[:16])
	if m := e.GetMemo(); m != "" {
		fmt.Fprintf(c.stdout, "  %s\n", oneLine(m))
	}
	printPostings(c.stdout, e.GetPostings())
	return nil
}

// failure is a check the program itself made that failed: exit 1 with its
// message.
type failure struct{ msg string }

func (f *failure) Error() string { return f.msg }
