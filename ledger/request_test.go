package ledger_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/corebanking/ledger/ledger"
)

// fieldsOf returns the fields err's violations name.
func fieldsOf(err error) map[string]bool {
	var le *ledger.Error
	out := map[string]bool{}
	if errors.As(err, &le) {
		for _, f := range le.Fields {
			out[f.Field] = true
		}
	}
	return out
}

func TestMemoRules(t *testing.T) {
	for _, tt := range []struct {
		name, memo string
		ok         bool
	}{
		{"OK", "rent for July", true},
		{"OKKorean", "7월 월세 🏠", true},
		{"ErrNUL", "rent\x00", false},
		{"ErrTerminalEscape", "\x1b[31mrefund\x1b[0m", false},
		{"ErrNewline", "line one\nline two", false},
		{"ErrC1Control", "a\u0085b", false},
		{"ErrBidiOverride", "invoice \u202e0001", false},
		{"ErrBidiIsolate", "\u2067x\u2069", false},
		{"ErrLeftToRightMark", "a\u200eb", false},
		{"ErrRightToLeftMark", "a\u200fb", false},
		{"ErrArabicLetterMark", "a\u061cb", false},
		{"ErrLineSeparator", "a\u2028b", false},
		{"ErrParagraphSeparator", "a\u2029b", false},
		{"ErrByteOrderMark", "\ufeffrent", false},
		{"ErrZeroWidthSpace", "re\u200bnt", false},
		{"ErrWordJoiner", "re\u2060nt", false},
		{"ErrSoftHyphen", "re\u00adnt", false},
		{"ErrHangulFiller", "월\u3164세", false},
		{"OKPersianNonJoiner", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", true},
		{"OKEmojiSequence", "family \U0001F468\u200d\U0001F469\u200d\U0001F467", true},
		{"OKEmojiPresentation", "\u2764\ufe0f", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := ledger.DepositRequest{RequestID: "r-1", AccountID: "A-1", Amount: 1, Currency: "KRW", Memo: tt.memo}.Validate()
			if tt.ok != (err == nil) || !tt.ok && !fieldsOf(err)["memo"] {
				t.Fatalf("memo %q: %v", tt.memo, err)
			}
		})
	}
}

func TestPageTokenRules(t *testing.T) {
	at := time.Date(2026, 7, 1, 9, 0, 0, 123_456_000, time.UTC)
	const entry = "7e63a5d9-e0e1-4add-ab2e-64393609d5f6"
	key := []byte("0123456789abcdef0123456789abcdef")
	pages := ledger.NewPageTokens(key)
	tok := pages.Issue("A-1", at, entry)
	gotAt, id, ok := pages.Parse("A-1", tok)
	if !ok || !gotAt.Equal(at) || id != entry {
		t.Fatalf("round trip of %q = %v %q %v", tok, gotAt, id, ok)
	}
	if again, _, ok := ledger.NewPageTokens(slices.Clone(key)).Parse("A-1", tok); !ok || !again.Equal(at) {
		t.Errorf("another server with the same key refused %q", tok)
	}
	flipped := []byte(tok)
	flipped[3] ^= 0x01 // a position moved by a client
	for name, bad := range map[string]string{
		"Empty": "", "NotAToken": "not a token", "Newline": tok + "\n", "Padding": tok + "=", "Short": tok[:len(tok)-1],
		"Flipped":    string(flipped),
		"OtherKey":   ledger.NewPageTokens([]byte("another key, another server.....")).Issue("A-1", at, entry),
		"RandomKey":  ledger.NewPageTokens(nil).Issue("A-1", at, entry),
		"OldFormat":  "MTcwMDAwMDAwMDAwMDAwMDAvN2U2M2E1ZDktZTBlMS00YWRkLWFiMmUtNjQzOTM2MDlkNWY2",
		"OtherPlace": pages.Issue("A-1", at.Add(time.Microsecond), entry)[:30] + tok[30:],
	} {
		if _, _, ok := pages.Parse("A-1", bad); ok {
			t.Errorf("%s: accepted %q", name, bad)
		}
	}
	if _, _, ok := pages.Parse("A-2", tok); ok {
		t.Errorf("A-1's token accepted for A-2")
	}
	if err := (ledger.StatementQuery{AccountID: "A-1", PageToken: "bm90LWEtdG9rZW4"}).Validate(); !fieldsOf(err)["page_token"] {
		t.Errorf("a string of the wrong shape passed validation: %v", err)
	}
	if err := (ledger.StatementQuery{AccountID: "A-1", PageToken: tok}).Validate(); err != nil {
		t.Errorf("an issued token failed validation: %v", err)
	}
}

func TestPromoWindow(t *testing.T) {
	opens := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	r := ledger.CreatePromoRequest{RequestID: "r-1", PromoID: "P-1", Currency: "KRW", TotalQuota: 1000, MaxPerCustomer: 100,
		AnnualRateBps: 500, OpensAt: opens, ClosesAt: opens.Add(ledger.MaxPromoWindow), Term: time.Hour}
	if err := r.Validate(); err != nil {
		t.Fatalf("the longest window: %v", err)
	}
	r.ClosesAt = r.ClosesAt.Add(time.Second)
	if err := r.Validate(); !fieldsOf(err)["closes_at"] {
		t.Fatalf("a window over %v: %v", ledger.MaxPromoWindow, err)
	}
}
