package cockroach

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/ledger"
)

// The sealer keeps the journal's Merkle tree and signs its checkpoints in
// the sealing transaction itself, so they commit with the records they
// cover, under the sealer's lease: no other lock, and nothing on the online
// path. A sealing transaction reads the tree's right edge (at most 63
// nodes), appends the nodes its records complete as one row, and signs a
// checkpoint when one is due; the witness gets it after the commit, so that
// it never holds a checkpoint of records that were rolled back.
//
// The tree is stored as chunks: each sealing transaction's new nodes, back
// to back, in the order the tree completes them (a leaf, then the nodes it
// completes, from the lowest level up). In that order a node's position
// follows from its level and index alone (nodePosition), so a node is read
// from the chunk that starts at or before its position.

// nodeHashSize is the size of every node's hash (SHA-256).
const nodeHashSize = sha256.Size

// nodePosition is where node (level, index) comes in the order the tree
// completes its nodes. The node is completed by leaf j = (index+1)*2^level
// - 1; before that leaf, the tree of j leaves has completed 2j -
// popcount(j) nodes; the leaf comes next, then its completed ancestors one
// level at a time.
func nodePosition(level int, index int64) int64 {
	j := (index+1)<<level - 1
	return 2*j - int64(bits.OnesCount64(uint64(j))) + int64(level)
}

// treeHead is what a sealing transaction reads of the tree and the
// checkpoints: how many records the tree holds, and the last checkpoint.
type treeHead struct {
	size       int64
	signedSize int64
	signedAt   time.Time
	signed     bool
}

// queue queues the reads of h into b.
func (h *treeHead) queue(b *pgx.Batch) {
	b.Queue(sqlTreeSize).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&h.size)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	b.Queue(sqlLastCheckpoint).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&h.signedSize, &h.signedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		h.signed = err == nil
		return err
	})
}

// queueTreeNodes queues the read of nodes' hashes into *out, in the order
// of nodes. A node that is not stored is an error.
func queueTreeNodes(b *pgx.Batch, nodes []ledger.TreeNode, out *[][]byte) {
	if len(nodes) == 0 {
		return
	}
	positions := make([]int64, len(nodes))
	at := make(map[int64]int, len(nodes))
	for i, n := range nodes {
		positions[i] = nodePosition(n.Level, n.Index)
		at[positions[i]] = i
	}
	b.Queue(sqlTreeNodes, positions).Query(func(rows pgx.Rows) error {
		hashes := make([][]byte, len(nodes))
		var pos int64
		var hash []byte
		if _, err := pgx.ForEachRow(rows, []any{&pos, &hash}, func() error {
			if i, ok := at[pos]; ok && len(hash) == nodeHashSize {
				hashes[i] = hash
			}
			return nil
		}); err != nil {
			return err
		}
		for i, h := range hashes {
			if h == nil {
				return fmt.Errorf("the journal's tree has no node at level %d, index %d", nodes[i].Level, nodes[i].Index)
			}
		}
		*out = hashes
		return nil
	})
}

// nodeRows collects the tree nodes a transaction appends, as one chunk.
type nodeRows struct {
	first  int64  // the position of the first node
	n      int64  // how many nodes
	hashes []byte // theirs, back to back
	err    error  // the first node out of order
}

func (c *nodeRows) add(t ledger.TreeNode) {
	pos := nodePosition(t.Level, t.Index)
	if c.n == 0 {
		c.first = pos
	}
	if c.err == nil && (pos != c.first+c.n || len(t.Hash) != nodeHashSize) {
		c.err = fmt.Errorf("the tree completed node (%d, %d) at position %d with a hash of %d bytes, want position %d and %d bytes",
			t.Level, t.Index, pos, len(t.Hash), c.first+c.n, nodeHashSize)
	}
	c.hashes = append(c.hashes, t.Hash...)
	c.n++
}

// queue queues the insert of the nodes, if any, as the chunk that brings
// the tree to size records.
func (c *nodeRows) queue(b *pgx.Batch, size int64) error {
	if c.err != nil {
		return c.err
	}
	if c.n > 0 {
		b.Queue(sqlAppendTree, c.first, size, c.hashes)
	}
	return nil
}

// checkpoint signs and queues a checkpoint of tree, whose last record is
// head, when one is due: a signer is set, the tree holds every record, it
// has grown since the last checkpoint, and CheckpointInterval has passed
// since that one (by this sealer's clock). It returns nil otherwise.
func (z *Sealer) checkpoint(b *pgx.Batch, last treeHead, tree *ledger.Tree, head ledger.Checkpoint, epoch int64) (*ledger.SignedCheckpoint, error) {
	now := z.st.now()
	switch {
	case z.opt.Signer == nil, tree.Size() != head.Sequence, tree.Size() == 0,
		last.signed && (tree.Size() <= last.signedSize || now.Sub(last.signedAt) < z.opt.CheckpointInterval):
		return nil, nil
	}
	c, err := ledger.SignCheckpoint(ledger.SignedCheckpoint{Size: tree.Size(), Root: tree.Root(), ChainHead: head.Hash, Time: now},
		z.opt.Signer)
	if err != nil {
		return nil, err
	}
	b.Queue(sqlInsertCheckpoint, c.Size, c.Root, c.ChainHead, c.Time, c.Origin, int64(c.KeyID), string(c.Note),
		z.opt.Holder, epoch)
	return &c, nil
}

// queueRecords queues the read of records after..to, with their entries'
// postings, into *out.
func queueRecords(b *pgx.Batch, after, to int64, out *[]ledger.Record) {
	b.Queue(sqlJournalPage, after, to-after).Query(func(rows pgx.Rows) error {
		records, err := pgx.CollectRows(rows, scanRecord)
		*out = records
		return err
	})
	b.Queue(sqlJournalPostings, after, to).Query(func(rows pgx.Rows) error {
		bySeq := map[int64][]ledger.Posting{}
		if err := scanPostings(rows, bySeq); err != nil {
			return err
		}
		for i := range *out {
			(*out)[i].Entry.Postings = bySeq[(*out)[i].Sequence]
		}
		return nil
	})
}

// scanRecord reads a row of sqlJournalPage.
func scanRecord(row pgx.CollectableRow) (ledger.Record, error) {
	var r ledger.Record
	var kind, actor string
	var at *time.Time
	err := row.Scan(&r.Sequence, &r.PrevHash, &r.Hash, &r.SealedAt, &r.SealedBy, &r.LeaseEpoch, &r.Entry.ID,
		&kind, &actor, &r.Entry.RequestID, &r.Entry.Memo, &at, &r.Entry.ReversesEntryID)
	r.SealedAt, r.Entry.Kind, r.Entry.Actor = r.SealedAt.UTC(), ledger.ParseEntryKind(kind), ledger.Actor(actor)
	if at != nil {
		r.Entry.PostedAt = at.UTC()
	}
	return r, err
}

// scanPostings reads rows of sqlJournalPostings into bySeq, by record.
func scanPostings(rows pgx.Rows, bySeq map[int64][]ledger.Posting) error {
	var seq int64
	var p ledger.Posting
	_, err := pgx.ForEachRow(rows, []any{&seq, &p.AccountID, &p.Currency, &p.Amount}, func() error {
		bySeq[seq] = append(bySeq[seq], p)
		return nil
	})
	return err
}
