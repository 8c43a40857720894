package ledger

import (
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// The journal's Merkle tree is RFC 9162's (§2.1): leaf i is record i+1,
// hashed as SHA-256(0x00 || Canonical(record)); an inner node is
// SHA-256(0x01 || left || right); the tree of n records splits at the
// largest power of two below n. docs/journal.md specifies it, with a
// worked example, and its inclusion and consistency proofs.
//
// A node whose subtree is complete never changes, so the tree is stored
// as those nodes only (TreeNode): appending record n adds its leaf and
// the complete subtrees it closes, about two nodes a record, and reads
// only the right edge of the tree before it (FrontierNodes).

// hasher is RFC 9162's tree hash with SHA-256.
var hasher = rfc6962.DefaultHasher

// LeafHash returns the tree's leaf for entry e at sequence seq:
// SHA-256(0x00 || Canonical(seq, e)).
func LeafHash(seq int64, e Entry) []byte { return hasher.HashLeaf(Canonical(seq, e)) }

// NodeHash returns the hash of an inner node: SHA-256(0x01 || left || right).
func NodeHash(left, right []byte) []byte { return hasher.HashChildren(left, right) }

// EmptyRoot is the root of a tree of no records: SHA-256 of nothing.
func EmptyRoot() []byte { return hasher.EmptyRoot() }

// TreeNode is a node of the tree whose subtree is complete: at Level 0 the
// leaf of record Index+1, at level k the root of records
// Index*2^k+1 .. (Index+1)*2^k.
type TreeNode struct {
	Level int
	Index int64
	Hash  []byte
}

func nodeOf(id compact.NodeID) TreeNode {
	return TreeNode{Level: int(id.Level), Index: int64(id.Index)}
}

func nodesOf(ids []compact.NodeID) []TreeNode {
	out := make([]TreeNode, len(ids))
	for i, id := range ids {
		out[i] = nodeOf(id)
	}
	return out
}

var treeFactory = &compact.RangeFactory{Hash: NodeHash}

// Tree is the right edge of the journal's tree: the roots of the complete
// subtrees that cover records 1..Size, from which the root follows and to
// which records are appended. It holds at most 63 hashes, whatever the size.
type Tree struct{ r *compact.Range }

// NewTree returns the tree of no records.
func NewTree() *Tree { return &Tree{r: treeFactory.NewEmptyRange(0)} }

// FrontierNodes lists the nodes whose hashes TreeAt needs for a tree of
// size records, left to right.
func FrontierNodes(size int64) []TreeNode {
	return nodesOf(compact.RangeNodes(0, uint64(size), nil))
}

// TreeAt returns the tree of size records from the hashes of
// FrontierNodes(size), in that order.
func TreeAt(size int64, hashes [][]byte) (*Tree, error) {
	if size < 0 {
		return nil, fmt.Errorf("tree size %d", size)
	}
	r, err := treeFactory.NewRange(0, uint64(size), hashes)
	if err != nil {
		return nil, err
	}
	return &Tree{r: r}, nil
}

// Size is how many records the tree holds.
func (t *Tree) Size() int64 { return int64(t.r.End()) }

// Append adds the next record's leaf and calls visit, if not nil, with
// every node that becomes complete: the leaf, then the subtrees it closes.
func (t *Tree) Append(leaf []byte, visit func(TreeNode)) error {
	var fn compact.VisitFn
	if visit != nil {
		fn = func(id compact.NodeID, hash []byte) {
			n := nodeOf(id)
			n.Hash = hash
			visit(n)
		}
	}
	return t.r.Append(leaf, fn)
}

// Root returns the tree's root hash (EmptyRoot for no records).
func (t *Tree) Root() []byte {
	if t.Size() == 0 {
		return EmptyRoot()
	}
	root, err := t.r.GetRootHash(nil)
	if err != nil { // only for a range that does not start at 0, which a Tree never is
		panic(err)
	}
	return root
}

// ProofPlan says which stored nodes a proof is made of, and makes it from
// their hashes.
type ProofPlan struct{ p proof.Nodes }

// InclusionPlan is the plan of the proof that record seq is in the tree of
// size records (RFC 9162 §2.1.3). It needs 1 <= seq <= size.
func InclusionPlan(seq, size int64) (ProofPlan, error) {
	if seq < 1 || seq > size {
		return ProofPlan{}, fmt.Errorf("record %d is not in a tree of %d", seq, size)
	}
	p, err := proof.Inclusion(uint64(seq-1), uint64(size))
	return ProofPlan{p}, err
}

// ConsistencyPlan is the plan of the proof that the tree of size2 records
// extends the tree of size1 (RFC 9162 §2.1.4). It needs 1 <= size1 <= size2.
func ConsistencyPlan(size1, size2 int64) (ProofPlan, error) {
	if size1 < 1 || size1 > size2 {
		return ProofPlan{}, fmt.Errorf("no consistency proof from %d to %d", size1, size2)
	}
	p, err := proof.Consistency(uint64(size1), uint64(size2))
	return ProofPlan{p}, err
}

// Nodes lists the stored nodes the proof needs, without their hashes.
func (p ProofPlan) Nodes() []TreeNode { return nodesOf(p.p.IDs) }

// Proof returns the proof, in RFC 9162's order, from the hashes of Nodes
// in that order.
func (p ProofPlan) Proof(hashes [][]byte) ([][]byte, error) {
	return p.p.Rehash(hashes, NodeHash)
}

// VerifyInclusion checks that leaf is record seq of the tree of size
// records whose root is root.
func VerifyInclusion(seq, size int64, leaf []byte, proofHashes [][]byte, root []byte) error {
	if seq < 1 || seq > size {
		return fmt.Errorf("record %d is not in a tree of %d", seq, size)
	}
	return proof.VerifyInclusion(hasher, uint64(seq-1), uint64(size), leaf, proofHashes, root)
}

// VerifyConsistency checks that the tree of size2 records with root2
// extends the tree of size1 records with root1.
func VerifyConsistency(size1, size2 int64, proofHashes [][]byte, root1, root2 []byte) error {
	if size1 < 1 || size1 > size2 {
		return fmt.Errorf("no consistency proof from %d to %d", size1, size2)
	}
	return proof.VerifyConsistency(hasher, uint64(size1), uint64(size2), proofHashes, root1, root2)
}
