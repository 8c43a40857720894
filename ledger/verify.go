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
}

// NewJournalVerifier starts at the genesis, to check the journal against
// cps, whose signatures the caller has checked (see Expect).
func NewJournalVerifier(cps []SignedCheckpoint) (*JournalVerifier, error) {
	v := &JournalVerifier{chain: NewChainVerifier(Checkpoint{Hash: GenesisHash()}), tree: NewTree()}
	return v, v.Expect(cps...)
}

// Expect adds checkpoints to check the records against; none may be of
// fewer records than were already checked. Two checkpoints of one size
// that commit to different records are an error: the signer forked the
// journal. A checkpoint of the records checked so far is checked at once,
// and its failure returned (a *JournalError).
func (v *JournalVerifier) Expect(cps ...SignedCheckpoint) error {
	pending := append(slices.Clone(v.cps[v.next:]), cps...)
	slices.SortStableFunc(pending, func(a, b SignedCheckpoint) int { return cmp.Compare(a.Size, b.Size) })
	out := v.cps[:v.next:v.next]
	for _, c := range pending {
		if c.Size < v.tree.Size() {
			return fmt.Errorf("a checkpoint of %d records was given after record %d was checked", c.Size, v.tree.Size())
		}
		if n := len(out); n > v.next && out[n-1].Size == c.Size {
			if !bytes.Equal(out[n-1].Root, c.Root) || !bytes.Equal(out[n-1].ChainHead, c.ChainHead) {
				return fmt.Errorf("two checkpoints of %d records (signed %s and %s) commit to different records: the journal forked",
					c.Size, out[n-1].Time.Format(checkpointTime), c.Time.Format(checkpointTime))
			}
			continue
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

// Root is the root of the tree of the records accepted.
func (v *JournalVerifier) Root() []byte { return v.tree.Root() }

// Checkpoints is how many distinct checkpoints were given, and how many
// the records so far reproduced.
func (v *JournalVerifier) Checkpoints() (given, reproduced int) { return len(v.cps), v.next }

// Check accepts r if it is the next record of the chain and, when a
// checkpoint covers exactly the records up to r, they reproduce it.
// Otherwise it says where the journal changed, and accepts nothing more.
func (v *JournalVerifier) Check(r Record) *JournalError {
	if err := v.chain.Check(r); err != nil {
		return &JournalError{Sequence: v.chain.Last.Sequence + 1, Reason: err.Error()}
	}
	if err := v.tree.Append(LeafHash(r.Sequence, r.Entry), nil); err != nil {
		return &JournalError{Sequence: r.Sequence, Reason: err.Error()}
	}
	return v.reach()
}

// reach compares the checkpoints of the tree's size with the records.
func (v *JournalVerifier) reach() *JournalError {
	size := v.tree.Size()
	for ; v.next < len(v.cps) && v.cps[v.next].Size == size; v.next++ {
		c := v.cps[v.next]
		root := v.tree.Root()
		head := v.chain.Last.Hash // the genesis hash before any record
		if !bytes.Equal(root, c.Root) || !bytes.Equal(head, c.ChainHead) {
			return &JournalError{Sequence: v.Vouched + 1, Reason: fmt.Sprintf(
				"records %d..%d do not reproduce the checkpoint of %d records signed %s: root %x, chain head %x, where it signed root %x, chain head %x",
				v.Vouched+1, size, size, c.Time.Format(checkpointTime), root, head, c.Root, c.ChainHead)}
		}
		v.Vouched = size
	}
	return nil
}

// End reports a journal that ends before a checkpoint's size: records it
// committed to are missing (the journal's tail was cut). Call it after the
// last record.
func (v *JournalVerifier) End() *JournalError {
	if v.next == len(v.cps) {
		return nil
	}
	c, last := v.cps[len(v.cps)-1], v.tree.Size()
	return &JournalError{Sequence: last + 1, Reason: fmt.Sprintf(
		"the journal ends at sequence %d, but a checkpoint signed %s committed to %d records: %d..%d are missing",
		last, c.Time.Format(checkpointTime), c.Size, last+1, c.Size)}
}
