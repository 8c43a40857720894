package ledger

import (
	"context"
	"time"
)

// Record is one sealed journal entry: its place in the gapless audit
// sequence and its link in the hash chain.
type Record struct {
	Sequence int64
	Entry    Entry
	PrevHash []byte
	Hash     []byte
	SealedAt time.Time
	// SealedBy is the sealer that appended the record, and LeaseEpoch the
	// term of the sealer lease it held: epochs never decrease along the
	// sequence, and each belongs to one sealer.
	SealedBy   string
	LeaseEpoch int64
}

// Checkpoint is the head of the hash chain: the last sealed sequence and
// its hash. An empty journal has sequence 0 and the genesis hash.
type Checkpoint struct {
	Sequence int64
	Hash     []byte
}

// Verification is the outcome of checking a range of the journal. When OK
// is false, BadSequence names the first record that failed (0 when the
// failure is not one record's, such as a balance that differs from the sum
// of its postings) and Reason says why.
type Verification struct {
	OK          bool
	BadSequence int64
	Reason      string
	// Checked is how many records were checked; Checkpoint is the last one
	// that passed.
	Checked    int64
	Checkpoint Checkpoint
	// From the genesis: how many signed checkpoints the records reproduced,
	// and the root of the Merkle tree of the records checked.
	Checkpoints int64
	Root        []byte
}

// Journal is the auditors' read of the sealed journal. Every method returns
// INVALID_ARGUMENT for a query that fails Validate, DATABASE_UNAVAILABLE
// when the database cannot be reached in time, and INTERNAL for anything
// unexpected.
type Journal interface {
	// ListJournal returns up to q.Limit records with sequence > q.After, in
	// sequence order, each with its postings.
	ListJournal(ctx context.Context, q JournalQuery) ([]Record, error)
	// Checkpoint returns the head of the chain.
	Checkpoint(ctx context.Context) (Checkpoint, error)
	// SignedCheckpoint returns the latest signed checkpoint, and false when
	// none has been signed yet.
	SignedCheckpoint(ctx context.Context) (SignedCheckpoint, bool, error)
	// VerifyJournal re-checks the records of r against the entries and
	// postings as they stand: the hash chain, and from the genesis the
	// Merkle tree against every stored checkpoint; each entry's postings
	// summing to zero; every entry sealed exactly once; and every account
	// balance equal to the sum of its postings. A failed check is a
	// result, not an error.
	VerifyJournal(ctx context.Context, r JournalRange) (Verification, error)
	// InclusionProof proves that a record is in the journal's tree of
	// q.TreeSize records (RFC 9162 §2.1.3). Errors:
	// JOURNAL_RECORD_NOT_FOUND, JOURNAL_NOT_CHECKPOINTED (TreeSize 0 and no
	// signed checkpoint covers the record yet), TREE_SIZE_OUT_OF_RANGE.
	InclusionProof(ctx context.Context, q InclusionQuery) (Inclusion, error)
	// ConsistencyProof proves that the journal's tree of q.To records
	// extends its tree of q.From records (RFC 9162 §2.1.4). Errors:
	// JOURNAL_NOT_CHECKPOINTED (To 0 and nothing signed yet),
	// TREE_SIZE_OUT_OF_RANGE.
	ConsistencyProof(ctx context.Context, q ConsistencyQuery) (Consistency, error)
}

// Journal page sizes.
const (
	DefaultJournalPage = 100
	MaxJournalPage     = 1000
)

// JournalQuery asks for one page of the journal.
type JournalQuery struct {
	After int64 // the last sequence already seen; 0 for the start
	Limit int   // DefaultJournalPage when zero; at most MaxJournalPage
}

// Validate reports every invalid field of q.
func (q JournalQuery) Validate() error {
	var v violations
	if q.After < 0 {
		v.add("after_sequence", "must not be negative")
	}
	if q.Limit < 0 || q.Limit > MaxJournalPage {
		v.add("limit", "must be between 0 and %d", MaxJournalPage)
	}
	return v.err()
}

// PageSize is q.Limit, or the default when it is zero.
func (q JournalQuery) PageSize() int {
	if q.Limit == 0 {
		return DefaultJournalPage
	}
	return q.Limit
}

// JournalRange is the records From..To, both included. From 0 means 1; To 0
// means the head.
type JournalRange struct {
	From, To int64
}

// Validate reports every invalid field of r.
func (r JournalRange) Validate() error {
	var v violations
	if r.From < 0 {
		v.add("from_sequence", "must not be negative")
	}
	if r.To < 0 {
		v.add("to_sequence", "must not be negative")
	} else if r.To != 0 && r.To < r.From {
		v.add("to_sequence", "must be 0 (the head) or at least from_sequence")
	}
	return v.err()
}

// ValidateStreamFrom checks the from_sequence of a journal stream.
func ValidateStreamFrom(from int64) error {
	var v violations
	if from < 0 {
		v.add("from_sequence", "must not be negative")
	}
	return v.err()
}
