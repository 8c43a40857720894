package ledger_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/corebanking/ledger/ledger"
)

// The reference below is RFC 9162 §2.1 written out as the RFC states it,
// recursively, on leaf hashes: the tree, the inclusion path (§2.1.3.1) and
// the consistency proof (§2.1.4.1). The tree and proofs the ledger serves
// must be exactly these.

func mth(d [][]byte) []byte {
	switch len(d) {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return d[0]
	}
	k := split(len(d))
	return ledger.NodeHash(mth(d[:k]), mth(d[k:]))
}

// split is the largest power of two smaller than n.
func split(n int) int {
	k := 1
	for k*2 < n {
		k *= 2
	}
	return k
}

func path(m int, d [][]byte) [][]byte {
	if len(d) <= 1 {
		return nil
	}
	k := split(len(d))
	if m < k {
		return append(path(m, d[:k]), mth(d[k:]))
	}
	return append(path(m-k, d[k:]), mth(d[:k]))
}

func subproof(m int, d [][]byte, whole bool) [][]byte {
	if m == len(d) {
		if whole {
			return nil
		}
		return [][]byte{mth(d)}
	}
	k := split(len(d))
	if m <= k {
		return append(subproof(m, d[:k], whole), mth(d[k:]))
	}
	return append(subproof(m-k, d[k:], false), mth(d[:k]))
}

// leaves returns n leaf hashes of made-up records.
func leaves(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		e := exampleEntries[i%2]
		e.Memo = fmt.Sprintf("record %d", i+1)
		out[i] = ledger.LeafHash(int64(i+1), e)
	}
	return out
}

func TestTreeIsRFC9162(t *testing.T) {
	const max = 40
	d := leaves(max)
	stored := map[[2]int64][]byte{}
	tree := ledger.NewTree()
	if !bytes.Equal(tree.Root(), mth(nil)) {
		t.Errorf("empty root %x", tree.Root())
	}
	hashesOf := func(nodes []ledger.TreeNode) [][]byte {
		out := make([][]byte, len(nodes))
		for i, n := range nodes {
			if out[i] = stored[[2]int64{int64(n.Level), n.Index}]; out[i] == nil {
				t.Fatalf("node %d/%d is not stored", n.Level, n.Index)
			}
		}
		return out
	}
	for n := 1; n <= max; n++ {
		if err := tree.Append(d[n-1], func(node ledger.TreeNode) {
			stored[[2]int64{int64(node.Level), node.Index}] = node.Hash
		}); err != nil {
			t.Fatal(err)
		}
		root := mth(d[:n])
		if !bytes.Equal(tree.Root(), root) {
			t.Fatalf("root of %d records %x, the RFC's %x", n, tree.Root(), root)
		}
		again, err := ledger.TreeAt(int64(n), hashesOf(ledger.FrontierNodes(int64(n))))
		if err != nil || !bytes.Equal(again.Root(), root) {
			t.Fatalf("tree of %d rebuilt from its right edge: %v", n, err)
		}
		for m := 1; m <= n; m++ {
			plan, err := ledger.InclusionPlan(int64(m), int64(n))
			if err != nil {
				t.Fatal(err)
			}
			proof, err := plan.Proof(hashesOf(plan.Nodes()))
			if err != nil || !equalHashes(proof, path(m-1, d[:n])) {
				t.Fatalf("inclusion of %d in %d: %x, the RFC's %x (%v)", m, n, proof, path(m-1, d[:n]), err)
			}
			if err := ledger.VerifyInclusion(int64(m), int64(n), d[m-1], proof, root); err != nil {
				t.Fatalf("inclusion of %d in %d: %v", m, n, err)
			}
			if ledger.VerifyInclusion(int64(m), int64(n), d[(m)%n], proof, root) == nil && n > 1 {
				t.Fatalf("inclusion of %d in %d holds for another leaf", m, n)
			}
			plan, err = ledger.ConsistencyPlan(int64(m), int64(n))
			if err != nil {
				t.Fatal(err)
			}
			proof, err = plan.Proof(hashesOf(plan.Nodes()))
			if err != nil || !equalHashes(proof, subproof(m, d[:n], true)) {
				t.Fatalf("consistency of %d with %d: %x, the RFC's %x (%v)", m, n, proof, subproof(m, d[:n], true), err)
			}
			if err := ledger.VerifyConsistency(int64(m), int64(n), proof, mth(d[:m]), root); err != nil {
				t.Fatalf("consistency of %d with %d: %v", m, n, err)
			}
			if m < n && ledger.VerifyConsistency(int64(m), int64(n), proof, mth(d[1:m+1]), root) == nil {
				t.Fatalf("consistency of %d with %d holds for another tree", m, n)
			}
		}
	}
}

func equalHashes(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
