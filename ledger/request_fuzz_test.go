package ledger_test

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/corebanking/ledger/ledger"
)

// FuzzTransferValidate feeds arbitrary requests to validation: it must never
// panic, must answer INVALID_ARGUMENT with field violations or nil, and
// whatever it accepts must keep the ledger's limits.
func FuzzTransferValidate(f *testing.F) {
	f.Add("r-1", "alice", "bob", int64(1000), "KRW", "lunch")
	f.Add("", "", "", int64(0), "", "")
	f.Add("r-2", "sys:vault:KRW", "x", ledger.MaxAmount+1, "krw", "\xff")
	f.Add("r 3", "a", "a", int64(-5), "XYZ", "메모")
	f.Fuzz(func(t *testing.T, rid, from, to string, amount int64, currency, memo string) {
		r := ledger.TransferRequest{RequestID: rid, From: from, To: to, Amount: amount, Currency: currency, Memo: memo}
		err := r.Validate()
		if err != nil {
			var le *ledger.Error
			if !errors.As(err, &le) || le.Code != ledger.CodeInvalidArgument || len(le.Fields) == 0 {
				t.Fatalf("Validate = %v, want INVALID_ARGUMENT with field violations", err)
			}
			return
		}
		if amount <= 0 || amount > ledger.MaxAmount {
			t.Fatalf("accepted amount %d", amount)
		}
		if _, ok := ledger.MinorUnits(currency); !ok {
			t.Fatalf("accepted currency %q", currency)
		}
		for _, id := range []string{rid, from, to} {
			if id == "" || len(id) > ledger.MaxIDLength || !utf8.ValidString(id) {
				t.Fatalf("accepted id %q", id)
			}
		}
		if from == to || !utf8.ValidString(memo) || utf8.RuneCountInString(memo) > ledger.MaxMemoLength {
			t.Fatalf("accepted %+v", r)
		}
	})
}

// FuzzFingerprint checks that two transfers differing in any field never
// share a fingerprint, so a changed request cannot pass for a replay.
func FuzzFingerprint(f *testing.F) {
	f.Add("a", "b", int64(1), "m", "a", "b", int64(1), "m ")
	f.Add("ab", "c", int64(1), "", "a", "bc", int64(1), "")
	f.Fuzz(func(t *testing.T, from1, to1 string, amt1 int64, memo1, from2, to2 string, amt2 int64, memo2 string) {
		r1 := ledger.TransferRequest{RequestID: "x", From: from1, To: to1, Amount: amt1, Currency: "KRW", Memo: memo1}
		r2 := ledger.TransferRequest{RequestID: "y", From: from2, To: to2, Amount: amt2, Currency: "KRW", Memo: memo2}
		same := from1 == from2 && to1 == to2 && amt1 == amt2 && memo1 == memo2
		if bytes.Equal(r1.Fingerprint(), r2.Fingerprint()) != same {
			t.Fatalf("fingerprints equal = %v for %+v and %+v", !same, r1, r2)
		}
	})
}

// FuzzEntryValidate checks the double-entry rule on arbitrary two-posting
// entries: accepted entries sum to zero in one currency.
func FuzzEntryValidate(f *testing.F) {
	f.Add("a", "b", int64(5), int64(-5), "KRW", "KRW")
	f.Add("a", "a", int64(5), int64(-5), "KRW", "KRW")
	f.Add("a", "b", int64(-9223372036854775808), int64(0), "KRW", "USD")
	f.Fuzz(func(t *testing.T, a, b string, x, y int64, c1, c2 string) {
		e := ledger.Entry{Postings: []ledger.Posting{{AccountID: a, Currency: c1, Amount: x}, {AccountID: b, Currency: c2, Amount: y}}}
		if e.Validate() != nil {
			return
		}
		if x+y != 0 || c1 != c2 || a == b || x == 0 || x > ledger.MaxAmount || x < -ledger.MaxAmount {
			t.Fatalf("accepted %+v", e)
		}
	})
}
