package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
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
	id, reverses := strings.ToLower(e.ID), strings.ToLower(e.ReversesEntryID)
	kind := e.Kind.String()
	n := 1 + 8 + 4*5 + len(id) + len(kind) + len(e.Actor) + len(e.RequestID) + len(e.Memo) + 8 + 4
	for _, p := range e.Postings {
		n += 4 + len(p.AccountID) + 4 + len(p.Currency) + 8
	}
	version := CanonicalVersion
	if e.ReversesEntryID != "" {
		version = CanonicalVersionReversal
		n += 4 + len(reverses)
	}
	b := make([]byte, 0, n)
	putStr := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	b = append(b, version)
	b = binary.BigEndian.AppendUint64(b, uint64(seq))
	putStr(id)
	putStr(kind)
	putStr(string(e.Actor))
	putStr(e.RequestID)
	putStr(e.Memo)
	b = binary.BigEndian.AppendUint64(b, uint64(e.PostedAt.UnixMicro()))
	byAccount := func(a, b Posting) int { return strings.Compare(a.AccountID, b.AccountID) }
	ps := e.Postings
	if !slices.IsSortedFunc(ps, byAccount) {
		ps = slices.Clone(ps)
		slices.SortFunc(ps, byAccount)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(ps)))
	for _, p := range ps {
		putStr(p.AccountID)
		putStr(p.Currency)
		b = binary.BigEndian.AppendUint64(b, uint64(p.Amount))
	}
	if version == CanonicalVersionReversal {
		putStr(reverses)
	}
	return b
}

// ParseCanonical reads back what Canonical encoded: the sequence and the
// entry, its postings in the encoding's order and its times in UTC. It
// refuses bytes that Canonical could not have written: an unknown version
// or kind, a field that runs past the end, bytes left over.
func ParseCanonical(b []byte) (seq int64, e Entry, err error) {
	r := canonicalReader{b: b}
	version := r.byte()
	if version != CanonicalVersion && version != CanonicalVersionReversal {
		return 0, Entry{}, fmt.Errorf("canonical entry: version %d", version)
	}
	seq = int64(r.uint64())
	e.ID = r.str()
	kind := r.str()
	e.Actor, e.RequestID, e.Memo = Actor(r.str()), r.str(), r.str()
	e.PostedAt = time.UnixMicro(int64(r.uint64())).UTC()
	n := r.uint32()
	if r.err == nil && int(n) > len(r.b) { // a posting takes at least 16 bytes: no huge allocation
		r.err = errShortCanonical
	}
	if r.err == nil && n > 0 {
		e.Postings = make([]Posting, n)
		for i := range e.Postings {
			e.Postings[i] = Posting{AccountID: r.str(), Currency: r.str(), Amount: int64(r.uint64())}
		}
	}
	if version == CanonicalVersionReversal {
		e.ReversesEntryID = r.str()
	}
	switch {
	case r.err != nil:
		return 0, Entry{}, fmt.Errorf("canonical entry: %w", r.err)
	case len(r.b) > 0:
		return 0, Entry{}, fmt.Errorf("canonical entry: %d bytes after its last field", len(r.b))
	}
	if e.Kind = ParseEntryKind(kind); e.Kind == EntryUnspecified {
		return 0, Entry{}, fmt.Errorf("canonical entry: kind %q", kind)
	}
	return seq, e, nil
}

var errShortCanonical = errors.New("a field runs past the end")

// canonicalReader reads Canonical's fields; after the first field that
// runs past the end, err is set and every read gives zero.
type canonicalReader struct {
	b   []byte
	err error
}

func (r *canonicalReader) take(n int) []byte {
	if r.err != nil || n > len(r.b) {
		r.err = errShortCanonical
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *canonicalReader) byte() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *canonicalReader) uint32() uint32 {
	if b := r.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *canonicalReader) uint64() uint64 {
	if b := r.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *canonicalReader) str() string { return string(r.take(int(r.uint32()))) }

// ChainHash returns SHA-256(prev || Canonical(seq, e)).
func ChainHash(prev []byte, seq int64, e Entry) []byte { return chainHashOf(prev, Canonical(seq, e)) }

func chainHashOf(prev, canonical []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(canonical)
	return h.Sum(nil)
}

// RecordHashes returns ChainHash(prev, seq, e) and LeafHash(seq, e), for
// the price of one encoding: what sealing a record computes.
func RecordHashes(prev []byte, seq int64, e Entry) (chain, leaf []byte) {
	c := Canonical(seq, e)
	return chainHashOf(prev, c), hasher.HashLeaf(c)
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
