package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// HashSize is the length of every chain hash (SHA-256).
const HashSize = sha256.Size

// CanonicalVersion is the first byte of every canonical encoding: the
// format docs/journal.md describes. A new format would get a new version.
const CanonicalVersion byte = 1

// CanonicalVersionReversal is the first byte of the encoding of an entry
// that reverses another: version 1's fields, then reverses_entry_id.
const CanonicalVersionReversal byte = 2

// GenesisHash returns the hash that precedes sequence 1: 32 zero bytes.
func GenesisHash() []byte { return make([]byte, HashSize) }

// Canonical returns the bytes of entry e at sequence seq that the chain
// hashes, as docs/journal.md specifies: the version byte, sequence,
// entry_id (lower case), kind, actor, request_id, memo, posted_at (Unix
// microseconds), the posting count, then each posting sorted by the bytes
// of its account_id: account_id, currency, amount. Integers are big-endian
// (int64: 8 bytes two's complement; counts: uint32); strings are a uint32
// byte length followed by their UTF-8 bytes. An entry that reverses another
// starts with version 2 instead and ends with reverses_entry_id (lower
// case).
func Canonical(seq int64, e Entry) []byte {
	var b []byte
	putStr := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	version := CanonicalVersion
	if e.ReversesEntryID != "" {
		version = CanonicalVersionReversal
	}
	b = append(b, version)
	b = binary.BigEndian.AppendUint64(b, uint64(seq))
	putStr(strings.ToLower(e.ID))
	putStr(e.Kind.String())
	putStr(string(e.Actor))
	putStr(e.RequestID)
	putStr(e.Memo)
	b = binary.BigEndian.AppendUint64(b, uint64(e.PostedAt.UnixMicro()))
	ps := slices.Clone(e.Postings)
	slices.SortFunc(ps, func(a, b Posting) int { return strings.Compare(a.AccountID, b.AccountID) })
	b = binary.BigEndian.AppendUint32(b, uint32(len(ps)))
	for _, p := range ps {
		putStr(p.AccountID)
		putStr(p.Currency)
		b = binary.BigEndian.AppendUint64(b, uint64(p.Amount))
	}
	if version == CanonicalVersionReversal {
		putStr(strings.ToLower(e.ReversesEntryID))
	}
	return b
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
// postings that sum to zero. Otherwise it says why, and stays where it was.
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
	sums := map[string]int64{}
	for _, p := range r.Entry.Postings {
		sums[p.Currency] += p.Amount
	}
	for c, sum := range sums {
		if sum != 0 {
			return fmt.Errorf("postings in %s sum to %d, not 0", c, sum)
		}
	}
	v.Last = Checkpoint{Sequence: r.Sequence, Hash: r.Hash}
	return nil
}
