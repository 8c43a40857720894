package ctl

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

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

// journalVerify fetches the records and recomputes the chain here, from
// the records alone: it trusts the server for nothing but the bytes. With
// --on-server it asks the server's VerifyJournal instead, which also checks
// the stored entries and the balances.
func journalVerify(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	from := fs.String("from", "", "start after a checkpoint you trust, `SEQUENCE:HASH` (hex) as an earlier verify printed (default: the genesis)")
	onServer := fs.Bool("on-server", false, "ask the server to re-check instead: the chain against the stored entries, and every balance against its postings")
	return func(ctx context.Context, _ []string) error {
		start, err := parseCheckpoint(*from)
		if err != nil {
			return err
		}
		var res *ledgerv1.VerifyJournalResponse
		if *onServer {
			res, err = call(ctx, c, c.audit().VerifyJournal, &ledgerv1.VerifyJournalRequest{FromSequence: start.Sequence + 1})
		} else {
			res, err = c.verifyHere(ctx, start)
		}
		if err != nil {
			return err
		}
		if err := c.show(res, func(w io.Writer) { printVerification(w, res) }); err != nil {
			return err
		}
		switch {
		case res.GetOk():
			return nil
		case res.GetBadSequence() == 0: // not one record's fault: a balance
			return &failure{msg: "the journal does not verify: " + res.GetReason()}
		}
		return &failure{msg: fmt.Sprintf("the journal does not verify at sequence %d: %s", res.GetBadSequence(), res.GetReason())}
	}
}

// verifyHere checks the chain from start on this machine.
func (c *cli) verifyHere(ctx context.Context, start ledger.Checkpoint) (*ledgerv1.VerifyJournalResponse, error) {
	chain := ledger.NewChainVerifier(start)
	res := &ledgerv1.VerifyJournalResponse{Ok: true}
	err := c.eachRecord(ctx, start.Sequence, func(r *ledgerv1.JournalRecord) error {
		if err := chain.Check(r.Ledger()); err != nil {
			res.Ok, res.BadSequence, res.Reason = false, chain.Last.Sequence+1, err.Error()
			return errStop
		}
		res.RecordsChecked++
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	res.Checkpoint = &ledgerv1.Checkpoint{Sequence: chain.Last.Sequence, Hash: chain.Last.Hash}
	return res, nil
}

func printVerification(w io.Writer, res *ledgerv1.VerifyJournalResponse) {
	cp := res.GetCheckpoint()
	if !res.GetOk() {
		if res.GetBadSequence() != 0 {
			fmt.Fprintf(w, "journal verify: sequence %d does not match\n", res.GetBadSequence())
		} else {
			fmt.Fprintln(w, "journal verify: the books do not match the journal")
		}
		fmt.Fprintf(w, "  %s\n", res.GetReason())
		fmt.Fprintf(w, "  last good checkpoint: %d:%x\n", cp.GetSequence(), cp.GetHash())
		return
	}
	fmt.Fprintf(w, "journal verified: %d records, chain intact\n  checkpoint: %d:%x\n", res.GetRecordsChecked(), cp.GetSequence(), cp.GetHash())
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

// parseCheckpoint reads SEQUENCE:HASH; empty is the genesis.
func parseCheckpoint(s string) (ledger.Checkpoint, error) {
	if s == "" {
		return ledger.Checkpoint{Hash: ledger.GenesisHash()}, nil
	}
	seq, h, ok := strings.Cut(s, ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	hash, herr := hex.DecodeString(h)
	if !ok || err != nil || n < 0 || herr != nil || len(hash) != ledger.HashSize {
		return ledger.Checkpoint{}, usagef(nil, "--from %q is not SEQUENCE:HASH with a %d-byte hex hash", s, ledger.HashSize)
	}
	return ledger.Checkpoint{Sequence: n, Hash: hash}, nil
}

// failure is a check the program itself made that failed: exit 1 with its
// message.
type failure struct{ msg string }

func (f *failure) Error() string { return f.msg }
