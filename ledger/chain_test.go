package ledger_test

import (
	"encoding/hex"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corebanking/ledger/ledger"
)

// The worked example of docs/journal.md: three entries, sealed at
// sequences 1, 2 and 3.
var exampleEntries = []ledger.Entry{
	{
		ID: "0b8f2c4e-6a1d-4e3b-9c5f-7d2e1a0b3c4d", Kind: ledger.EntryDeposit, Actor: "channel/teller",
		RequestID: "dep-1", Memo: "cash in", PostedAt: time.Date(2026, 3, 2, 9, 0, 0, 123456000, time.UTC),
		Postings: []ledger.Posting{
			{AccountID: "park-1", Currency: "KRW", Amount: 50000},
			{AccountID: "sys:vault:KRW", Currency: "KRW", Amount: -50000},
		},
	},
	{
		ID: "5C1D9A7E-3B2F-4C6D-8E1A-2F3B4C5D6E7F", Kind: ledger.EntryTransfer, Actor: "channel/mobile-banking",
		RequestID: "t-1", Memo: "월세", PostedAt: time.Date(2026, 3, 2, 9, 5, 0, 0, time.UTC),
		Postings: []ledger.Posting{
			{AccountID: "park-1", Currency: "KRW", Amount: -20000},
			{AccountID: "choi-1", Currency: "KRW", Amount: 20000},
		},
	},
	{
		ID: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", Kind: ledger.EntryWithdrawal, Actor: "channel/atm-switch",
		RequestID: "w-1", Memo: "ATM atm-7", PostedAt: time.Date(2026, 3, 2, 9, 10, 0, 0, time.UTC),
		Postings: []ledger.Posting{
			{AccountID: "sys:atm:atm-7:KRW", Currency: "KRW", Amount: 10000},
			{AccountID: "park-1", Currency: "KRW", Amount: -10000},
		},
	},
}

func readDoc(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../docs/journal.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// docValue finds "name = hex..." in the doc, the hex possibly running on
// over indented lines, and returns the bytes.
func docValue(t *testing.T, doc, name string) []byte {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` =((?:\s+[0-9a-f]+\b)+)`).FindStringSubmatch(doc)
	if m == nil {
		t.Fatalf("docs/journal.md has no %q", name)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(m[1]), ""))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

// TestJournalDocExample recomputes the worked example of docs/journal.md:
// the canonical bytes and the chain hash of both entries must be what the
// page says, so that an auditor who follows the page gets our hashes.
func TestJournalDocExample(t *testing.T) {
	doc := readDoc(t)
	prev := ledger.GenesisHash()
	for i, e := range exampleEntries {
		seq := int64(i + 1)
		n := string(rune('0' + seq))
		if got, want := ledger.Canonical(seq, e), docValue(t, doc, "canonical_"+n); string(got) != string(want) {
			t.Errorf("canonical_%s: we compute\n%x\nthe doc says\n%x", n, got, want)
		}
		hash := ledger.ChainHash(prev, seq, e)
		if want := docValue(t, doc, "hash_"+n); string(hash) != string(want) {
			t.Errorf("hash_%s: we compute %x, the doc says %x", n, hash, want)
		}
		// A client checking the two records from the genesis accepts them.
		if err := ledger.NewChainVerifier(ledger.Checkpoint{Sequence: seq - 1, Hash: prev}).Check(
			ledger.Record{Sequence: seq, Entry: e, PrevHash: prev, Hash: hash}); err != nil {
			t.Errorf("record %d: %v", seq, err)
		}
		prev = hash
	}
}

func TestChainVerifierRefuses(t *testing.T) {
	e := exampleEntries[0]
	good := ledger.Record{Sequence: 1, Entry: e, PrevHash: ledger.GenesisHash(), Hash: ledger.ChainHash(ledger.GenesisHash(), 1, e)}
	unbalanced := e
	unbalanced.Postings = []ledger.Posting{{AccountID: "park-1", Currency: "KRW", Amount: 50000}}
	for name, r := range map[string]ledger.Record{
		"Gap":         {Sequence: 2, Entry: e, PrevHash: good.PrevHash, Hash: good.Hash},
		"PrevHash":    {Sequence: 1, Entry: e, PrevHash: good.Hash, Hash: good.Hash},
		"Content":     {Sequence: 1, Entry: exampleEntries[1], PrevHash: good.PrevHash, Hash: good.Hash},
		"Unbalanced":  {Sequence: 1, Entry: unbalanced, PrevHash: good.PrevHash, Hash: ledger.ChainHash(good.PrevHash, 1, unbalanced)},
		"Resequenced": {Sequence: 1, Entry: e, PrevHash: good.PrevHash, Hash: ledger.ChainHash(good.PrevHash, 2, e)},
	} {
		t.Run(name, func(t *testing.T) {
			v := ledger.NewChainVerifier(ledger.Checkpoint{Hash: ledger.GenesisHash()})
			if err := v.Check(r); err == nil || v.Last.Sequence != 0 {
				t.Errorf("accepted (%v); last is now %d", err, v.Last.Sequence)
			}
		})
	}
	if err := ledger.NewChainVerifier(ledger.Checkpoint{Hash: ledger.GenesisHash()}).Check(good); err != nil {
		t.Errorf("good record refused: %v", err)
	}
}

// TestCanonicalIgnoresPostingOrder: postings are encoded sorted by account.
func TestCanonicalIgnoresPostingOrder(t *testing.T) {
	e := exampleEntries[1]
	swapped := e
	swapped.Postings = []ledger.Posting{e.Postings[1], e.Postings[0]}
	if string(ledger.Canonical(2, e)) != string(ledger.Canonical(2, swapped)) {
		t.Error("the order of postings changes the encoding")
	}
}

// A reversal is encoded as version 2: version 1's fields, then the entry it
// reverses; any other entry's bytes are version 1's, unchanged.
func TestCanonicalReversal(t *testing.T) {
	e := ledger.Entry{ID: "7e63a5d9-e0e1-4add-ab2e-64393609d5f6", Kind: ledger.EntryTransfer, RequestID: "r",
		PostedAt: time.Unix(0, 0).UTC(), Postings: []ledger.Posting{{AccountID: "a", Currency: "KRW", Amount: -5},
			{AccountID: "b", Currency: "KRW", Amount: 5}}}
	r := e.Reversal("r2", "")
	r.ID = "0d2b0937-f8ad-4c6c-8f2d-0671925cc939"
	unlinked := r
	unlinked.ReversesEntryID = ""
	v1, v2 := ledger.Canonical(7, unlinked), ledger.Canonical(7, r)
	want := append([]byte{2}, v1[1:]...)
	want = append(want, 0, 0, 0, 36)
	want = append(want, e.ID...)
	if v1[0] != 1 || string(v2) != string(want) {
		t.Fatalf("version 2 = %x\nwant        %x", v2, want)
	}
	if v := ledger.Canonical(7, e); v[0] != 1 {
		t.Errorf("an entry that reverses nothing is version %d", v[0])
	}
}

// The verifier checks each currency's postings, not their total.
func TestChainVerifierChecksEachCurrency(t *testing.T) {
	e := ledger.Entry{ID: "7e63a5d9-e0e1-4add-ab2e-64393609d5f6", Kind: ledger.EntryGeneral, PostedAt: time.Unix(0, 0).UTC(),
		Postings: []ledger.Posting{{AccountID: "a", Currency: "KRW", Amount: -5}, {AccountID: "b", Currency: "USD", Amount: 5}}}
	rec := ledger.Record{Sequence: 1, Entry: e, PrevHash: ledger.GenesisHash(), Hash: ledger.ChainHash(ledger.GenesisHash(), 1, e)}
	if err := ledger.NewChainVerifier(ledger.Checkpoint{Hash: ledger.GenesisHash()}).Check(rec); err == nil {
		t.Error("an entry of -5 KRW and +5 USD passed")
	}
}

// TestParseCanonical reads back every field, a reversal's too, and refuses
// what Canonical could not have written.
func TestParseCanonical(t *testing.T) {
	e := ledger.Entry{ID: "7e63a5d9-e0e1-4add-ab2e-64393609d5f6", Kind: ledger.EntryReversal, RequestID: "r-9",
		Actor: "channel/mobile", Memo: "refund", PostedAt: time.UnixMicro(1_700_000_000_123_456).UTC(),
		ReversesEntryID: "0b1b2c3d-e0e1-4add-ab2e-64393609d5f6", Postings: []ledger.Posting{
			{AccountID: "B-1", Currency: "KRW", Amount: -500}, {AccountID: "A-1", Currency: "KRW", Amount: 500}}}
	c := ledger.Canonical(42, e)
	seq, got, err := ledger.ParseCanonical(c)
	want := e
	want.Postings = []ledger.Posting{e.Postings[1], e.Postings[0]} // in the encoding's order
	if err != nil || seq != 42 || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseCanonical = %d, %+v, %v; want 42, %+v", seq, got, err, want)
	}
	opening := ledger.Entry{ID: "e", Kind: ledger.EntryAccountOpening, Memo: "opened", PostedAt: e.PostedAt}
	if _, got, err := ledger.ParseCanonical(ledger.Canonical(1, opening)); err != nil || !reflect.DeepEqual(got, opening) {
		t.Fatalf("ParseCanonical of an entry without postings = %+v, %v", got, err)
	}
	unknownKind := ledger.Canonical(1, ledger.Entry{ID: "e", Kind: ledger.EntryKind(99), PostedAt: e.PostedAt})
	bad := map[string][]byte{
		"empty":           nil,
		"version 3":       append([]byte{3}, c[1:]...),
		"cut":             c[:len(c)-3],
		"a byte too many": append(slices.Clone(c), 0),
		"unknown kind":    unknownKind,
	}
	for name, b := range bad {
		if _, _, err := ledger.ParseCanonical(b); err == nil {
			t.Errorf("%s: ParseCanonical took it", name)
		}
	}
}
