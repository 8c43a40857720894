package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
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
	// Checkpoint is the last record checked.
	Checkpoint Checkpoint
}

// Journal is the auditors' read of the sealed journal.
type Journal interface {
	// ListJournal returns up to limit records with sequence > after, in
	// sequence order. It returns only store errors (UNAVAILABLE, INTERNAL).
	ListJournal(ctx context.Context, after int64, limit int) ([]Record, error)
	// Checkpoint returns the head of the chain.
	Checkpoint(ctx context.Context) (Checkpoint, error)
	// VerifyJournal re-checks records from..to (to 0 means the head): the
	// hash chain, each entry's postings summing to zero, and every account
	// balance equal to the sum of its postings. A failed check is a result,
	// not an error.
	VerifyJournal(ctx context.Context, from, to int64) (Verification, error)
}

// HashSize is the length of every chain hash (SHA-256).
const HashSize = sha256.Size

// GenesisHash returns the hash that precedes sequence 1: 32 zero bytes.
func GenesisHash() []byte { return make([]byte, HashSize) }

// Canonical returns the bytes of entry e at sequence seq that the chain
// hashes, as docs/journal.md specifies: sequence, entry_id, kind,
// request_id, memo, posted_at (Unix microseconds), the posting count, then
// each posting sorted by account_id: account_id, currency, amount. Integers
// are big-endian (int64: 8 bytes two's complement; counts: uint32);
// strings are a uint32 byte length followed by their UTF-8 bytes.
func Canonical(seq int64, e Entry) []byte {
	var b bytes.Buffer
	putInt := func(v int64) { b.Write(binary.BigEndian.AppendUint64(nil, uint64(v))) }
	putStr := func(s string) {
		b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(s))))
		b.WriteString(s)
	}
	putInt(seq)
	putStr(strings.ToLower(e.ID))
	putStr(e.Kind.String())
	putStr(e.RequestID)
	putStr(e.Memo)
	putInt(e.PostedAt.UnixMicro())
	ps := slices.Clone(e.Postings)
	slices.SortFunc(ps, func(a, b Posting) int { return strings.Compare(a.AccountID, b.AccountID) })
	b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(ps))))
	for _, p := range ps {
		putStr(p.AccountID)
		putStr(p.Currency)
		putInt(p.Amount)
	}
	return b.Bytes()
}

// ChainHash returns SHA-256(prev || Canonical(seq, e)).
func ChainHash(prev []byte, seq int64, e Entry) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(Canonical(seq, e))
	return h.Sum(nil)
}

// ChainVerifier checks records one at a time, in order, against the chain.
// It needs nothing but the records, so a client can run it on an export.
type ChainVerifier struct {
	// Last is the last record accepted: its sequence and hash.
	Last Checkpoint
}

// NewChainVerifier starts at the given checkpoint: sequence 0 and the
// genesis hash to check from the start, or a trusted earlier checkpoint.
func NewChainVerifier(from Checkpoint) *ChainVerifier { return &ChainVerifier{Last: from} }

// Check accepts r if it follows the last record: the next sequence, a
// prev_hash equal to the last hash, a hash equal to the recomputed one, and
// postings that sum to zero. Otherwise it says why.
func (v *ChainVerifier) Check(r Record) error {
	switch {
	case r.Sequence != v.Last.Sequence+1:
		return fmt.Errorf("sequence %d follows %d", r.Sequence, v.Last.Sequence)
	case !bytes.Equal(r.PrevHash, v.Last.Hash):
		return fmt.Errorf("prev_hash %x is not the hash of sequence %d (%x)", r.PrevHash, v.Last.Sequence, v.Last.Hash)
	}
	if want := ChainHash(v.Last.Hash, r.Sequence, r.Entry); !bytes.Equal(r.Hash, want) {
		return fmt.Errorf("hash %x does not match the entry's content (%x)", r.Hash, want)
	}
	var sum int64
	for _, p := range r.Entry.Postings {
		sum += p.Amount
	}
	if sum != 0 {
		return fmt.Errorf("postings sum to %d, not 0", sum)
	}
	v.Last = Checkpoint{Sequence: r.Sequence, Hash: r.Hash}
	return nil
}
