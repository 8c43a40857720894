package ledger

import "github.com/google/uuid"

// InclusionQuery asks for the proof that one record is in the journal's
// tree: the record by its entry's id or by its sequence (one of them), in
// the tree of TreeSize records, or, when TreeSize is 0, that of the latest
// signed checkpoint.
type InclusionQuery struct {
	EntryID  string
	Sequence int64
	TreeSize int64
}

// Validate reports every invalid field of q.
func (q InclusionQuery) Validate() error {
	var v violations
	switch {
	case q.EntryID == "" && q.Sequence == 0:
		v.add("entry_id", "either entry_id or sequence is required")
	case q.EntryID != "" && q.Sequence != 0:
		v.add("sequence", "must be 0 when entry_id is given")
	case q.EntryID != "":
		if _, err := uuid.Parse(q.EntryID); err != nil || len(q.EntryID) != 36 {
			v.add("entry_id", "must be an entry id (a UUID)")
		}
	case q.Sequence < 0:
		v.add("sequence", "must be positive")
	}
	if q.TreeSize < 0 {
		v.add("tree_size", "must not be negative")
	}
	return v.err()
}

// Inclusion is the proof that Record is in the tree of TreeSize records.
type Inclusion struct {
	Record   Record
	TreeSize int64
	// Proof is the RFC 9162 inclusion proof: the hashes that, with the
	// record's leaf, give the tree's root.
	Proof [][]byte
	// Checkpoint is the signed checkpoint of TreeSize records, if one was
	// signed: what the proof is checked against.
	Checkpoint *SignedCheckpoint
}

// ConsistencyQuery asks for the proof that the tree of To records extends
// the tree of From records; To 0 means the latest signed checkpoint's size.
type ConsistencyQuery struct {
	From, To int64
}

// Validate reports every invalid field of q.
func (q ConsistencyQuery) Validate() error {
	var v violations
	if q.From < 1 {
		v.add("from_tree_size", "must be at least 1")
	}
	if q.To < 0 {
		v.add("to_tree_size", "must not be negative")
	} else if q.To != 0 && q.To < q.From {
		v.add("to_tree_size", "must be 0 (the latest signed checkpoint) or at least from_tree_size")
	}
	return v.err()
}

// Consistency is the proof that the tree of To records extends the tree
// of From records.
type Consistency struct {
	From, To int64
	// Proof is the RFC 9162 consistency proof.
	Proof [][]byte
	// Checkpoint is the signed checkpoint of To records, if one was signed.
	Checkpoint *SignedCheckpoint
}
