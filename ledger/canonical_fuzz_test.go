package ledger_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corebanking/ledger/ledger"
)

// FuzzCanonicalEntry checks the journal's canonical encoding on valid
// entries: it does not depend on the order of the postings, and two
// entries encode alike only when they say the same thing (entry ids
// compare without case, times to the microsecond).
func FuzzCanonicalEntry(f *testing.F) {
	f.Add("7e63a5d9-e0e1-4add-ab2e-64393609d5f6", "r-1", "rent", "A-1", "B-1", int64(500), int64(1_700_000_000_000_000_123),
		"7E63A5D9-E0E1-4ADD-AB2E-64393609D5F6", "r-1", "rent", "B-1", int64(500), int64(1_700_000_000_000_000_999))
	f.Add("e", "r", "ab", "c", "d", int64(1), int64(0), "e", "ra", "b", "d", int64(1), int64(0))
	f.Add("e", "r", "", "c", "d", int64(7), int64(-1), "e", "r", "", "c", int64(-7), int64(-1))
	f.Fuzz(func(t *testing.T, id1, req1, memo1, acct1a, acct1b string, amt1, at1 int64,
		id2, req2, memo2, acct2b string, amt2, at2 int64) {
		e1 := entry(id1, req1, memo1, acct1a, acct1b, amt1, at1)
		e2 := entry(id2, req2, memo2, acct1a, acct2b, amt2, at2)
		if e1.Validate() != nil || e2.Validate() != nil {
			return
		}
		c1 := ledger.Canonical(7, e1)
		swapped := e1
		swapped.Postings = slices.Clone(e1.Postings)
		slices.Reverse(swapped.Postings)
		order := slices.Clone(swapped.Postings)
		if !bytes.Equal(c1, ledger.Canonical(7, swapped)) {
			t.Fatalf("the order of postings changes the encoding of %+v", e1)
		}
		if !slices.Equal(order, swapped.Postings) {
			t.Fatalf("encoding %+v reordered its postings", swapped)
		}
		if len(c1) != cap(c1) {
			t.Fatalf("the encoding of %+v took %d bytes of the %d it sized", e1, len(c1), cap(c1))
		}
		prev := bytes.Repeat([]byte{byte(amt1)}, ledger.HashSize)
		if chain, leaf := ledger.RecordHashes(prev, 7, e1); !bytes.Equal(chain, ledger.ChainHash(prev, 7, e1)) ||
			!bytes.Equal(leaf, ledger.LeafHash(7, e1)) {
			t.Fatalf("RecordHashes of %+v are not ChainHash and LeafHash", e1)
		}
		same := strings.ToLower(id1) == strings.ToLower(id2) && req1 == req2 && memo1 == memo2 &&
			e1.PostedAt.UnixMicro() == e2.PostedAt.UnixMicro() && acct1b == acct2b && amt1 == amt2
		if bytes.Equal(c1, ledger.Canonical(7, e2)) != same {
			t.Fatalf("encodings equal = %v for\n%+v\n%+v", !same, e1, e2)
		}
		if bytes.Equal(c1, ledger.Canonical(8, e1)) {
			t.Fatal("the sequence does not change the encoding")
		}
		if seq, back, err := ledger.ParseCanonical(c1); err != nil || seq != 7 || !bytes.Equal(ledger.Canonical(seq, back), c1) {
			t.Fatalf("ParseCanonical of %+v: %d, %+v, %v", e1, seq, back, err)
		}
		if _, _, err := ledger.ParseCanonical(c1[:len(c1)-1]); err == nil {
			t.Fatalf("ParseCanonical took %+v cut by a byte", e1)
		}
	})
}

// entry is a transfer of amount from a to b.
func entry(id, requestID, memo, a, b string, amount, atNanos int64) ledger.Entry {
	return ledger.Entry{ID: id, Kind: ledger.EntryTransfer, RequestID: requestID, Memo: memo,
		PostedAt: time.Unix(0, atNanos).UTC(), Postings: []ledger.Posting{
			{AccountID: a, Currency: "KRW", Amount: -amount}, {AccountID: b, Currency: "KRW", Amount: amount}}}
}
