package ledger_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/corebanking/ledger/ledger"
)

// docHashes is docValue for a list of 32-byte hashes.
func docHashes(t *testing.T, doc, name string) [][]byte {
	t.Helper()
	b := docValue(t, doc, name)
	var out [][]byte
	for ; len(b) >= ledger.HashSize; b = b[ledger.HashSize:] {
		out = append(out, b[:ledger.HashSize])
	}
	if len(b) != 0 {
		t.Fatalf("%s is not a list of hashes", name)
	}
	return out
}

// TestJournalDocTree recomputes the Merkle tree of the worked example of
// docs/journal.md, its proofs as the store makes them, and checks them as
// a client does.
func TestJournalDocTree(t *testing.T) {
	doc := readDoc(t)
	stored := map[[2]int64][]byte{}
	tree := ledger.NewTree()
	for i, e := range exampleEntries {
		seq := int64(i + 1)
		leaf := ledger.LeafHash(seq, e)
		if want := docValue(t, doc, "leaf_"+string(rune('0'+seq))); !bytes.Equal(leaf, want) {
			t.Errorf("leaf_%d: we compute %x, the doc says %x", seq, leaf, want)
		}
		if err := tree.Append(leaf, func(n ledger.TreeNode) { stored[[2]int64{int64(n.Level), n.Index}] = n.Hash }); err != nil {
			t.Fatal(err)
		}
		if seq == 2 && !bytes.Equal(tree.Root(), docValue(t, doc, "node_1_2")) {
			t.Errorf("node_1_2: we compute %x", tree.Root())
		}
	}
	root := tree.Root()
	if want := docValue(t, doc, "root_3"); !bytes.Equal(root, want) {
		t.Errorf("root_3: we compute %x, the doc says %x", root, want)
	}
	proof := func(plan ledger.ProofPlan, err error) [][]byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var hashes [][]byte
		for _, n := range plan.Nodes() {
			hashes = append(hashes, stored[[2]int64{int64(n.Level), n.Index}])
		}
		p, err := plan.Proof(hashes)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	inclusion := docHashes(t, doc, "inclusion_2_in_3")
	if got := proof(ledger.InclusionPlan(2, 3)); !equalHashes(got, inclusion) {
		t.Errorf("inclusion_2_in_3: we compute %x, the doc says %x", got, inclusion)
	}
	if err := ledger.VerifyInclusion(2, 3, ledger.LeafHash(2, exampleEntries[1]), inclusion, root); err != nil {
		t.Errorf("the doc's inclusion proof: %v", err)
	}
	consistency := docHashes(t, doc, "consistency_1_to_3")
	if got := proof(ledger.ConsistencyPlan(1, 3)); !equalHashes(got, consistency) {
		t.Errorf("consistency_1_to_3: we compute %x, the doc says %x", got, consistency)
	}
	if err := ledger.VerifyConsistency(1, 3, consistency, ledger.LeafHash(1, exampleEntries[0]), root); err != nil {
		t.Errorf("the doc's consistency proof: %v", err)
	}
}

// TestJournalDocCheckpoint signs the worked example's checkpoint with the
// doc's key: the note must be the doc's to the byte, and its public key
// must check it.
func TestJournalDocCheckpoint(t *testing.T) {
	doc := readDoc(t)
	skey := regexp.MustCompile(`(?m)^PRIVATE\+KEY\+ledger\.example\S+$`).FindString(doc)
	vkey := regexp.MustCompile(`(?m)^ledger\.example/journal\+[0-9a-f]{8}\+\S+$`).FindString(doc)
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatalf("the doc's private key %q: %v", skey, err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatalf("the doc's public key %q: %v", vkey, err)
	}
	tree := ledger.NewTree()
	head := ledger.GenesisHash()
	for i, e := range exampleEntries {
		seq := int64(i + 1)
		head = ledger.ChainHash(head, seq, e)
		if err := tree.Append(ledger.LeafHash(seq, e), nil); err != nil {
			t.Fatal(err)
		}
	}
	c, err := ledger.SignCheckpoint(ledger.SignedCheckpoint{Size: 3, Root: tree.Root(), ChainHead: head,
		Time: time.Date(2026, 3, 2, 9, 10, 0, 500000000, time.UTC)}, s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc, "```text\n"+string(c.Note)+"```\n") {
		t.Errorf("the doc does not show the checkpoint as signed:\n%s", c.Note)
	}
	if got, err := ledger.OpenCheckpoint(c.Note, v); err != nil || got.KeyID != 0x6cf8d69f {
		t.Errorf("the doc's public key on its checkpoint: key id %08x, %v", got.KeyID, err)
	}
}
