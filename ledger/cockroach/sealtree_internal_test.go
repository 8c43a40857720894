package cockroach

import (
	"testing"

	"github.com/corebanking/ledger/ledger"
)

// TestNodePosition: the nodes a growing tree completes come in the order
// nodePosition gives them, with no gap, whatever the tree's size: the
// chunks' layout rests on it.
func TestNodePosition(t *testing.T) {
	tree := ledger.NewTree()
	var next int64
	for leaf := range int64(1100) {
		if got, want := nodePosition(0, tree.Size()), next; got != want {
			t.Fatalf("a tree of %d leaves: its next leaf at position %d, want %d", tree.Size(), got, want)
		}
		if err := tree.Append(ledger.LeafHash(leaf+1, ledger.Entry{ID: "e"}), func(n ledger.TreeNode) {
			if got := nodePosition(n.Level, n.Index); got != next {
				t.Fatalf("node (%d, %d) at position %d, want %d", n.Level, n.Index, got, next)
			}
			next++
		}); err != nil {
			t.Fatal(err)
		}
	}
	if next != 2*1100-4 { // 1100 = 0b10001001100: four ones
		t.Errorf("%d nodes for 1100 leaves, want 2196", next)
	}
}

// TestNodeRowsRefusesAGap: a chunk whose nodes do not follow one another
// is refused before it is written.
func TestNodeRowsRefusesAGap(t *testing.T) {
	hash := make([]byte, nodeHashSize)
	var c nodeRows
	c.add(ledger.TreeNode{Level: 0, Index: 4, Hash: hash})
	c.add(ledger.TreeNode{Level: 0, Index: 6, Hash: hash})
	if err := c.queue(nil, 7); err == nil {
		t.Error("a chunk of leaves 4 and 6 was accepted")
	}
}
