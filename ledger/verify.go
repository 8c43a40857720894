package ledger

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
)

// JournalError is where verification found the journal changed: the first
// sequence it cannot vouch for, and why.
type JournalError struct {
	Sequence int64
	Reason   string
}

func (e *JournalError) Error() string { return fmt.Sprintf("sequence %d: %s", e.Sequence, e.Reason) }

// JournalVerifier checks a journal from its genesis, record by record:
// the chain (ChainVerifier), and the Merkle tree against signed
// checkpoints. A checkpoint of size n vouches for records 1..n: their tree
// must have its root and record n its chain head. It needs nothing but the
// records and the checkpoints, so a client can run it on what a server
// sends and a witness kept.
//
// What it names: a broken chain (a gap, a changed record whose later
// hashes were not recomputed) at the record that breaks it; a journal that
// ends before a checkpoint's size at the first missing sequence; and a
// rewrite that recomputed every later hash at the first record after the
// last checkpoint that still matches, since a checkpoint's root tells that
// one of its records changed but not which: the changed record is between
// there and the checkpoint that no longer matches.
type JournalVerifier struct {
	chain *ChainVerifier
	tree  *Tree
	cps   []SignedCheckpoint // by size; those not reached yet from next on
	next  int
	// Vouched is the last sequence a checkpoint vouched for; 0 before any.
	Vouched int64
	vouched Checkpoint    // record Vouched
	kept    []Checkpoint  // chain hashes the records must have (Keep)
	failed  *JournalError // the failure, once there is one
}

// Keep adds a chain hash that record c.Sequence must have: a checkpoint an
// auditor kept from an earlier verification.
func (v *JournalVerifier) Keep(c Checkpoint) { v.kept = append(v.kept, c) }

// NewJournalVerifier starts at the genesis, to check the journal against
// cps, whose signatures the caller has checked (see Expect).
func NewJournalVerifier(cps []SignedCheckpoint) (*JournalVerifier, error) {
	genesis := Checkpoint{Hash: GenesisHash()}
	v := &JournalVerifier{chain: NewChainVerifier(genesis), tree: NewTree(), vouched: genesis}
	return v, v.Expect(cps...)
}

// Expect adds checkpoints to check the records against; none may be of
// fewer records than were already checked. Two checkpoints of one size
// that commit to different records (the key signed a fork of the journal,
// as a sealer does when someone rewrote the database under it) are both
// kept: the records can reproduce only one, and the other names where the
// journal changed. A checkpoint of the records checked so far is checked
// at once, and its failure returned (a *JournalError).
func (v *JournalVerifier) Expect(cps ...SignedCheckpoint) error {
	pending := append(slices.Clone(v.cps[v.next:]), cps...)
	slices.SortStableFunc(pending, func(a, b SignedCheckpoint) int { return cmp.Compare(a.Size, b.Size) })
	out := v.cps[:v.next:v.next]
	for _, c := range pending {
		if c.Size < v.tree.Size() {
			return fmt.Errorf("a checkpoint of %d records was given after record %d was checked", c.Size, v.tree.Size())
		}
		if n := len(out); n > v.next && out[n-1].Size == c.Size &&
			bytes.Equal(out[n-1].Root, c.Root) && bytes.Equal(out[n-1].ChainHead, c.ChainHead) {
			continue // the same checkpoint twice (the witness's and the server's latest)
		}
		out = append(out, c)
	}
	v.cps = out
	if err := v.reach(); err != nil {
		return err
	}
	return nil
}

// Last is the last record accepted: its sequence and chain hash.
func (v *JournalVerifier) Last() Checkpoint { return v.chain.Last }

// Good is the last record known good: Last, unless a checkpoint found a
// change among the records accepted, and then the last record a
// checkpoint vouched for.
func (v *JournalVerifier) Good() Checkpoint {
	if v.failed != nil && v.failed.Sequence <= v.chain.Last.Sequence {
		return v.vouched
	}
	return v.chain.Last
}

// Root is the root of the tree of the records accepted.
func (v *JournalVerifier) Root() []byte { return v.tree.Root() }

// Checkpoints is how many distinct checkpoints were given, and how many
// the records so far reproduced.
func (v *JournalVerifier) Checkpoints() (given, reproduced int) { return len(v.cps), v.next }

// Check accepts r if it is the next record of the chain and, when a
// checkpoint covers exactly the records up to r, they reproduce it.
// Otherwise it says where the journal changed, and accepts nothing more.
func (v *JournalVerifier) Check(r Record) *JournalError {
	if v.failed != nil {
		return v.failed
	}
	if err := v.chain.Check(r); err != nil {
		return v.fail(&JournalError{Sequence: v.chain.Last.Sequence + 1, Reason: err.Error()})
	}
	if err := v.tree.Append(LeafHash(r.Sequence, r.Entry), nil); err != nil {
		return v.fail(&JournalError{Sequence: r.Sequence, Reason: err.Error()})
	}
	for _, k := range v.kept {
		if k.Sequence == r.Sequence && !bytes.Equal(k.Hash, r.Hash) {
			return v.fail(&JournalError{Sequence: v.Vouched + 1, Reason: fmt.Sprintf(
				"records %d..%d do not reproduce the checkpoint you kept: hash %x, not %x", v.Vouched+1, k.Sequence, r.Hash, k.Hash)})
		}
	}
	return v.reach()
}

func (v *JournalVerifier) fail(e *JournalError) *JournalError {
	v.failed = e
	return e
}

// reach compares the checkpoints of the tree's size with the records.
func (v *JournalVerifier) reach() *JournalError {
	size := v.tree.Size()
	for ; v.next < len(v.cps) && v.cps[v.next].Size == size; v.next++ {
		c := v.cps[v.next]
		root := v.tree.Root()
		head := v.chain.Last.Hash // the genesis hash before any record
		if !bytes.Equal(root, c.Root) || !bytes.Equal(head, c.ChainHead) {
			return v.fail(&JournalError{Sequence: v.Vouched + 1, Reason: fmt.Sprintf(
				"records %d..%d do not reproduce the checkpoint of %d records signed %s: root %x, chain head %x, where it signed root %x, chain head %x",
				v.Vouched+1, size, size, c.Time.Format(checkpointTime), root, head, c.Root, c.ChainHead)})
		}
		v.Vouched, v.vouched = size, Checkpoint{Sequence: size, Hash: c.ChainHead}
	}
	return nil
}

// End reports a journal that ends before a checkpoint's size: records it
// committed to are missing (the journal's tail was cut). Call it after the
// last record.
func (v *JournalVerifier) End() *JournalError {
	last := v.tree.Size()
	switch {
	case v.failed != nil:
		return v.failed
	case v.next < len(v.cps):
	default:
		for _, k := range v.kept {
			if k.Sequence > last {
				return v.fail(&JournalError{Sequence: last + 1, Reason: fmt.Sprintf(
					"the journal ends at sequence %d, before the checkpoint you kept at %d", last, k.Sequence)})
			}
		}
		return nil
	}
	c := v.cps[len(v.cps)-1]
	return v.fail(&JournalError{Sequence: last + 1, Reason: fmt.Sprintf(
		"the journal ends at sequence %d, but a checkpoint signed %s committed to %d records: %d..%d are missing",
		last, c.Time.Format(checkpointTime), c.Size, last+1, c.Size)})
}
