package ctl

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/corebanking/ledger/internal/journalkey"
	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// journalVerifier returns the verifier of the journal's public key: key,
// or else the development key's in --tls-dir if there is one, or else nil.
func (c *cli) journalVerifier(key string) (note.Verifier, error) {
	if key == "" {
		dev := filepath.Join(c.g.sec.Dir, journalkey.DevFile+journalkey.PubSuffix)
		if _, err := os.Stat(dev); err != nil {
			return nil, nil
		}
		key = dev
	}
	v, _, err := journalkey.LoadVerifier(key)
	if err != nil {
		return nil, &setupError{err.Error()}
	}
	return v, nil
}

// journalKeygen makes a key that signs the journal's checkpoints. It sends
// nothing to the ledger.
func journalKeygen(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	name := fs.String("name", "", "the journal's `name`, which every checkpoint starts with, for example bank.example/ledger (no spaces or '+')")
	out := fs.String("out", "journal.key", "private key `file` to write (0600; never overwritten); its public key goes to FILE.pub")
	return func(context.Context, []string) error {
		if *name == "" {
			return usagef(nil, "--name is required")
		}
		vkey, err := journalkey.Generate(*out, *name)
		if err != nil {
			return &setupError{fmt.Sprintf("journal key: %v", err)}
		}
		fmt.Fprintf(c.stdout, "journal key %s\n  private key  %s (0600: give it to ledgerd --journal-key, keep it secret)\n  public key   %s%s\n%s\n",
			*name, *out, *out, journalkey.PubSuffix, vkey)
		return nil
	}
}

// journalPubkey prints the public key that checks the journal's
// checkpoints, from a key file.
func journalPubkey(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	key := fs.String("key", "", "a private or public key `file` (default: the development key in --tls-dir)")
	return func(context.Context, []string) error {
		path := *key
		if path == "" {
			path = filepath.Join(c.g.sec.Dir, journalkey.DevFile)
		}
		_, vkey, err := journalkey.LoadVerifier(path)
		if err != nil {
			return &setupError{err.Error()}
		}
		fmt.Fprintln(c.stdout, vkey)
		return nil
	}
}

// journalProve fetches the proof that an entry's record is in the tree a
// signed checkpoint commits to, and checks it here: the checkpoint's
// signature, the record's leaf hash, and the proof against the root.
func journalProve(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	key := fs.String("key", "", keyHelp)
	size := fs.Int64("tree-size", 0, "prove it in the tree of `N` records (default: the latest signed checkpoint's)")
	save := fs.String("save", "", "also write the proof to `FILE` (protojson), for 'journal check-proof' to check without the server")
	return func(ctx context.Context, args []string) error {
		v, err := c.journalVerifier(*key)
		if err != nil {
			return err
		}
		if v == nil {
			return usagef(nil, "a proof is checked against the journal's public key: --key (ledgerctl journal pubkey prints it)")
		}
		resp, err := call(ctx, c, c.audit().GetInclusionProof, &ledgerv1.GetInclusionProofRequest{
			Record: &ledgerv1.GetInclusionProofRequest_EntryId{EntryId: args[0]}, TreeSize: *size})
		if err != nil {
			return err
		}
		if *save != "" {
			b, err := protojson.MarshalOptions{Multiline: true}.Marshal(resp)
			if err == nil {
				err = os.WriteFile(*save, append(b, '\n'), 0o644)
			}
			if err != nil {
				return &setupError{fmt.Sprintf("--save: %v", err)}
			}
		}
		return c.checkProof(resp, v, args[0])
	}
}

// journalCheckProof checks a proof that 'journal prove --save' wrote,
// with no connection to the ledger.
func journalCheckProof(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	key := fs.String("key", "", keyHelp)
	return func(_ context.Context, args []string) error {
		v, err := c.journalVerifier(*key)
		if err != nil {
			return err
		}
		if v == nil {
			return usagef(nil, "a proof is checked against the journal's public key: --key")
		}
		b, err := os.ReadFile(args[0])
		if err != nil {
			return &setupError{err.Error()}
		}
		var resp ledgerv1.GetInclusionProofResponse
		if err := protojson.Unmarshal(b, &resp); err != nil {
			return &failure{msg: fmt.Sprintf("%s is not a proof: %v", args[0], err)}
		}
		return c.checkProof(&resp, v, "")
	}
}

// checkProof checks an inclusion proof against its signed checkpoint and
// prints what it proves; entryID, if given, must be the record's entry.
func (c *cli) checkProof(resp *ledgerv1.GetInclusionProofResponse, v note.Verifier, entryID string) error {
	rec := resp.GetRecord().Ledger()
	cp, err := verifyInclusion(resp, v)
	if err == nil && entryID != "" && rec.Entry.ID != entryID {
		err = fmt.Errorf("the record is entry %s, not %s", rec.Entry.ID, entryID)
	}
	if err != nil {
		return &failure{msg: "the proof does not hold: " + err.Error()}
	}
	return c.show(resp, func(w io.Writer) {
		e := resp.GetRecord().GetEntry()
		fmt.Fprintf(w, "entry %s is record %d of the journal: %s by %s, posted %s\n", rec.Entry.ID, rec.Sequence,
			label(e.GetKind().String(), "ENTRY_KIND_"), e.GetActor(), formatTime(e.GetPostedAt()))
		printPostings(w, e.GetPostings())
		fmt.Fprintf(w, "it is in the journal of %d records that key %s (%08x) signed at %s\n  root %s\n",
			cp.Size, cp.Origin, cp.KeyID, cp.Time.Format("2006-01-02T15:04:05.000000Z"), hex.EncodeToString(cp.Root))
		fmt.Fprintf(w, "inclusion proof: %d hashes, checked here against the signed root\n", len(resp.GetProof()))
	})
}

// verifyInclusion checks resp: its checkpoint is signed by v's key and of
// its tree size, and its proof takes the record's leaf to the checkpoint's
// root. It returns the checkpoint.
func verifyInclusion(resp *ledgerv1.GetInclusionProofResponse, v note.Verifier) (ledger.SignedCheckpoint, error) {
	if resp.GetCheckpoint() == nil {
		return ledger.SignedCheckpoint{}, fmt.Errorf("no checkpoint was signed at %d records: prove it in the tree of a signed checkpoint", resp.GetTreeSize())
	}
	cp, err := ledger.OpenCheckpoint([]byte(resp.GetCheckpoint().GetNote()), v)
	if err != nil {
		return cp, fmt.Errorf("the checkpoint: %w", err)
	}
	if cp.Size != resp.GetTreeSize() {
		return cp, fmt.Errorf("the checkpoint commits to %d records, the proof is for %d", cp.Size, resp.GetTreeSize())
	}
	rec := resp.GetRecord().Ledger()
	if rec.Sequence < 1 {
		return cp, errors.New("no record")
	}
	leaf := ledger.LeafHash(rec.Sequence, rec.Entry)
	if err := ledger.VerifyInclusion(rec.Sequence, cp.Size, leaf, resp.GetProof(), cp.Root); err != nil {
		return cp, fmt.Errorf("record %d is not in the signed tree: %w", rec.Sequence, err)
	}
	return cp, nil
}
