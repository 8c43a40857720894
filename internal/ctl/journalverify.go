package ctl

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/corebanking/ledger/internal/witness"
	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// journalVerify recomputes the journal here, from the genesis, from the
// records alone: the chain, the Merkle tree, every signed checkpoint it is
// given (the witness file's, and the server's latest) with its signature,
// and the consistency of successive checkpoints. It trusts the server for
// nothing but the bytes. With --on-server it asks the server's
// VerifyJournal instead, which also checks the stored entries, that each is
// sealed once, and the balances. docs/journal.md says what each form proves.
func journalVerify(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	witnessPath := fs.String("witness", "", "check every checkpoint of the witness file in `DIR` (or the file itself): its signature, that the records reproduce it, and that each extends the one before")
	key := fs.String("key", "", keyHelp)
	kept := fs.String("checkpoint", "", "a `SEQUENCE:HASH` an earlier verify printed: the chain must pass through it")
	fs.Func("from", "removed: verification starts at the genesis; pass the SEQUENCE:HASH you kept as --checkpoint", func(string) error {
		return errors.New("--from is removed: verification always starts at the genesis; pass the SEQUENCE:HASH you kept as --checkpoint")
	})
	onServer := fs.Bool("on-server", false, "ask the server to re-check instead: the chain and tree against the stored entries and checkpoints, each entry sealed once, every balance against its postings")
	return func(ctx context.Context, _ []string) error {
		if *onServer && (*witnessPath != "" || *kept != "") {
			return usagef(nil, "--on-server checks on the server: --witness and --checkpoint are checked here, without it")
		}
		var res *ledgerv1.VerifyJournalResponse
		var err error
		if *onServer {
			res, err = call(ctx, c, c.audit().VerifyJournal, &ledgerv1.VerifyJournalRequest{})
		} else {
			var p verifyPlan
			if p, err = c.planVerify(*witnessPath, *key, *kept); err != nil {
				return err
			}
			res, err = c.verifyHere(ctx, p)
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
		case res.GetBadSequence() == 0: // not one record's fault: a balance, a witness
			return &failure{msg: "the journal does not verify: " + res.GetReason()}
		}
		return &failure{msg: fmt.Sprintf("the journal does not verify at sequence %d: %s", res.GetBadSequence(), res.GetReason())}
	}
}

// keyHelp describes every --key flag.
const keyHelp = "the journal's public `key` (NAME+ID+KEY), or a file holding it or the private key (default: journal.key.pub in --tls-dir, the development key's, if there)"

// verifyPlan is what a verification here checks besides the records.
type verifyPlan struct {
	verifier note.Verifier // nil: no signature can be checked
	witness  []witness.Note
	kept     *ledger.Checkpoint
}

func (c *cli) planVerify(witnessPath, key, kept string) (verifyPlan, error) {
	var p verifyPlan
	var err error
	if p.verifier, err = c.journalVerifier(key); err != nil {
		return p, err
	}
	if witnessPath != "" {
		if p.verifier == nil {
			return p, usagef(nil, "--witness needs the journal's public key: --key (ledgerctl journal pubkey prints it)")
		}
		if p.witness, err = witness.Read(witnessPath); errors.Is(err, os.ErrNotExist) {
			return p, &setupError{fmt.Sprintf("no witness file at %s: %v", witnessPath, err)}
		} else if err != nil {
			return p, &failure{msg: "the witness file is damaged: " + err.Error()}
		}
	}
	if kept != "" {
		cp, err := parseCheckpoint(kept)
		if err != nil {
			return p, err
		}
		p.kept = &cp
	}
	return p, nil
}

// verifyHere checks the journal from the genesis on this machine.
func (c *cli) verifyHere(ctx context.Context, p verifyPlan) (*ledgerv1.VerifyJournalResponse, error) {
	res := &ledgerv1.VerifyJournalResponse{Ok: true}
	fail := func(seq int64, format string, args ...any) (*ledgerv1.VerifyJournalResponse, error) {
		res.Ok, res.BadSequence, res.Reason = false, seq, fmt.Sprintf(format, args...)
		return res, nil
	}
	var cps []ledger.SignedCheckpoint
	for _, n := range p.witness {
		cp, err := ledger.OpenCheckpoint(n.Text, p.verifier)
		if err != nil {
			return fail(0, "the witness's checkpoint at line %d: %v", n.Line, err)
		}
		cps = append(cps, cp)
	}
	if p.verifier != nil {
		head, err := call(ctx, c, c.audit().GetCheckpoint, &ledgerv1.GetCheckpointRequest{})
		if err != nil {
			return nil, err
		}
		if s := head.GetSigned(); s != nil {
			cp, err := ledger.OpenCheckpoint([]byte(s.GetNote()), p.verifier)
			if err != nil {
				return fail(0, "the server's latest checkpoint: %v", err)
			}
			cps = append(cps, cp)
		}
	}
	jv, err := ledger.NewJournalVerifier(cps)
	if err != nil {
		return fail(0, "%v", err)
	}
	if p.kept != nil {
		jv.Keep(*p.kept)
	}
	var bad *ledger.JournalError
	err = c.eachRecord(ctx, 0, func(r *ledgerv1.JournalRecord) error {
		if bad = jv.Check(r.Ledger()); bad != nil {
			return errStop
		}
		res.RecordsChecked++
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if bad == nil {
		bad = jv.End()
	}
	good := jv.Good()
	res.Checkpoint = &ledgerv1.Checkpoint{Sequence: good.Sequence, Hash: good.Hash}
	if bad != nil {
		return fail(bad.Sequence, "%s", bad.Reason)
	}
	_, reproduced := jv.Checkpoints()
	res.CheckpointsChecked, res.RootHash = int64(reproduced), jv.Root()
	if bad, err = c.checkConsistency(ctx, cps); err != nil || bad != nil {
		if bad != nil {
			return fail(bad.Sequence, "%s", bad.Reason)
		}
		return nil, err
	}
	return res, nil
}

// checkConsistency asks the server to prove that each checkpoint extends
// the one before, and checks each proof against the two signed roots.
func (c *cli) checkConsistency(ctx context.Context, cps []ledger.SignedCheckpoint) (*ledger.JournalError, error) {
	slices.SortFunc(cps, func(a, b ledger.SignedCheckpoint) int { return cmp.Compare(a.Size, b.Size) })
	cps = slices.CompactFunc(cps, func(a, b ledger.SignedCheckpoint) bool { return a.Size == b.Size })
	for i := 1; i < len(cps); i++ {
		a, b := cps[i-1], cps[i]
		resp, err := call(ctx, c, c.audit().GetConsistencyProof, &ledgerv1.GetConsistencyProofRequest{FromTreeSize: a.Size, ToTreeSize: b.Size})
		if code := status.Code(err); code == codes.Unavailable || code == codes.DeadlineExceeded || code == codes.Canceled {
			return nil, err
		} else if err != nil { // the server cannot prove it: a finding about its tree
			return &ledger.JournalError{Sequence: a.Size + 1, Reason: fmt.Sprintf(
				"the server proves no consistency from the checkpoint of %d records to that of %d: %s", a.Size, b.Size, status.Convert(err).Message())}, nil
		}
		if err := ledger.VerifyConsistency(a.Size, b.Size, resp.GetProof(), a.Root, b.Root); err != nil {
			return &ledger.JournalError{Sequence: a.Size + 1, Reason: fmt.Sprintf(
				"the server's tree does not prove that the checkpoint of %d records extends that of %d: %v", b.Size, a.Size, err)}, nil
		}
	}
	return nil, nil
}

func printVerification(w io.Writer, res *ledgerv1.VerifyJournalResponse) {
	cp := res.GetCheckpoint()
	if !res.GetOk() {
		if res.GetBadSequence() != 0 {
			fmt.Fprintf(w, "journal verify: sequence %d does not match\n", res.GetBadSequence())
		} else {
			fmt.Fprintln(w, "journal verify: the journal does not match")
		}
		fmt.Fprintf(w, "  %s\n", res.GetReason())
		fmt.Fprintf(w, "  last good checkpoint: %d:%x\n", cp.GetSequence(), cp.GetHash())
		return
	}
	fmt.Fprintf(w, "journal verified: %d records, chain intact\n  checkpoint: %d:%x\n", res.GetRecordsChecked(), cp.GetSequence(), cp.GetHash())
	if root := res.GetRootHash(); root != nil {
		fmt.Fprintf(w, "  tree root: %x\n  signed checkpoints reproduced: %d\n", root, res.GetCheckpointsChecked())
	}
}

// parseCheckpoint reads SEQUENCE:HASH.
func parseCheckpoint(s string) (ledger.Checkpoint, error) {
	seq, h, ok := strings.Cut(s, ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	hash, herr := hex.DecodeString(h)
	if !ok || err != nil || n < 1 || herr != nil || len(hash) != ledger.HashSize {
		return ledger.Checkpoint{}, usagef(nil, "--checkpoint %q is not SEQUENCE:HASH with a %d-byte hex hash", s, ledger.HashSize)
	}
	return ledger.Checkpoint{Sequence: n, Hash: hash}, nil
}
