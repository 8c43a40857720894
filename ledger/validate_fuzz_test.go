package ledger_test

import (
	"encoding/base64"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/corebanking/ledger/ledger"
)

// validID is the rule every accepted id must keep, written apart from the
// ledger's own pattern.
var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)

// validated is a request and the names of its fields.
type validated struct {
	validate func() error
	fields   []string
	ids      []string // non-empty ids it carries, each of which must be valid if accepted
	amount   int64    // 0: none to check
	memo     string
}

// FuzzRequestValidate feeds arbitrary field values to every request's
// validation: it must never panic; a refusal is INVALID_ARGUMENT naming only
// the request's own fields; an acceptance keeps every id, amount, memo, ttl
// and page rule.
func FuzzRequestValidate(f *testing.F) {
	f.Add(uint8(0), "r-1", "A-1", "B-1", "KRW", "rent", int64(5000), int64(60))
	f.Add(uint8(3), "r-2", "A-1", "atm-7", "KRW", "", int64(1), int64(-1))
	f.Add(uint8(5), "", "A 1", "\x00", "krw", "\x1b[2J", int64(-1), int64(1<<62))
	f.Add(uint8(7), "r-3", "P-1", "C-1", "USD", "\u202e", ledger.MaxAmount, int64(0))
	f.Fuzz(func(t *testing.T, op uint8, rid, a, b, currency, memo string, amount, n int64) {
		r := request(op, rid, a, b, currency, memo, amount, n)
		err := r.validate()
		if err != nil {
			var le *ledger.Error
			if !errors.As(err, &le) || le.Code != ledger.CodeInvalidArgument || len(le.Fields) == 0 {
				t.Fatalf("Validate = %v, want INVALID_ARGUMENT with field violations", err)
			}
			for _, fv := range le.Fields {
				if !slices.Contains(r.fields, fv.Field) || fv.Description == "" {
					t.Fatalf("violation %+v names no field of the request (%v)", fv, r.fields)
				}
			}
			return
		}
		for _, id := range r.ids {
			if id != "" && !validID.MatchString(id) {
				t.Fatalf("op %d accepted id %q", op%8, id)
			}
		}
		if r.amount != 0 && (r.amount < 0 || r.amount > ledger.MaxAmount) {
			t.Fatalf("op %d accepted amount %d", op%8, r.amount)
		}
		if !utf8.ValidString(r.memo) || utf8.RuneCountInString(r.memo) > ledger.MaxMemoLength ||
			strings.ContainsFunc(r.memo, invisible) {
			t.Fatalf("op %d accepted memo %q", op%8, r.memo)
		}
	})
}

// invisible is what no accepted memo may hold, written apart from the
// ledger's own rule: controls and the direction marks and invisible
// characters a statement line must not carry.
func invisible(c rune) bool {
	return c < 0x20 || c >= 0x7f && c < 0xa0 || strings.ContainsRune("\u200b\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2028\u2029\u2066\u2067\u2068\u2069\ufeff\u3164", c)
}

// request builds request number op%8 from the fuzzer's values.
func request(op uint8, rid, a, b, currency, memo string, amount, n int64) validated {
	switch op % 8 {
	case 0:
		r := ledger.DepositRequest{RequestID: rid, AccountID: a, Amount: amount, Currency: currency, Memo: memo}
		return validated{r.Validate, []string{"request_id", "account_id", "amount", "currency", "memo"}, []string{rid, a}, amount, memo}
	case 1:
		r := ledger.OpenAccountRequest{RequestID: rid, AccountID: a, CustomerID: b, Currency: currency, Kind: ledger.Kind(n % 4)}
		return validated{r.Validate, []string{"request_id", "account_id", "customer_id", "currency", "kind"}, []string{rid, a, b}, 0, ""}
	case 2:
		r := ledger.TransferRequest{RequestID: rid, From: a, To: b, Amount: amount, Currency: currency, Memo: memo}
		return validated{r.Validate, []string{"request_id", "from_account_id", "to_account_id", "amount", "currency", "memo"}, []string{rid, a, b}, amount, memo}
	case 3:
		r := ledger.WithdrawRequest{RequestID: rid, AccountID: a, ATMID: b, Amount: amount, Currency: currency}
		return validated{r.Validate, []string{"request_id", "account_id", "atm_id", "amount", "currency"}, []string{rid, a, b}, amount, ""}
	case 4:
		ttl := time.Duration(n)
		r := ledger.PlaceHoldRequest{RequestID: rid, AccountID: a, ATMID: b, Amount: amount, Currency: currency, TTL: ttl}
		v := validated{r.Validate, []string{"request_id", "account_id", "atm_id", "amount", "currency", "ttl"}, []string{rid, a, b}, amount, ""}
		return withCheck(v, func() bool { return ttl == 0 || ttl >= time.Second && ttl <= ledger.MaxHoldTTL })
	case 5:
		r := ledger.StatementQuery{AccountID: a, PageSize: int(n), PageToken: b}
		v := validated{r.Validate, []string{"account_id", "page_size", "page_token"}, []string{a}, 0, ""}
		return withCheck(v, func() bool {
			return n >= 0 && n <= ledger.MaxPageSize && (b == "" || tokenShaped(b))
		})
	case 6:
		r := ledger.SubscribeRequest{RequestID: rid, PromoID: a, CustomerID: b, FromAccount: currency, Amount: amount}
		return validated{r.Validate, []string{"request_id", "promo_id", "customer_id", "from_account_id", "amount"}, []string{rid, a, b, currency}, amount, ""}
	}
	opens := time.Unix(0, 0).Add(time.Duration(n))
	r := ledger.CreatePromoRequest{RequestID: rid, PromoID: a, Currency: currency, TotalQuota: amount, MaxPerCustomer: amount / 2,
		AnnualRateBps: int32(len(memo) * 100), OpensAt: opens, ClosesAt: opens.Add(time.Duration(len(b)) * 30 * 24 * time.Hour),
		Term: time.Duration(len(rid)) * 30 * time.Second, EarlyRateBps: int32(len(a) * 100), WithholdingBps: int32(len(b) * 1000)}
	v := validated{r.Validate, []string{"request_id", "promo_id", "currency", "total_quota", "max_per_customer", "annual_rate_bps",
		"closes_at", "term", "early_rate_bps", "withholding_bps"}, []string{rid, a}, amount, ""}
	return withCheck(v, func() bool {
		return r.ClosesAt.After(r.OpensAt) && r.ClosesAt.Sub(r.OpensAt) <= ledger.MaxPromoWindow &&
			r.Term >= ledger.MinPromoTerm && r.Term <= ledger.MaxPromoTerm && r.WithholdingBps <= 10_000 && r.EarlyRateBps <= 10_000
	})
}

// withCheck adds a rule an accepted request must keep: acceptance against
// it is reported as an error that no field explains.
func withCheck(v validated, keeps func() bool) validated {
	inner := v.validate
	v.validate = func() error {
		if err := inner(); err != nil {
			return err
		}
		if !keeps() {
			return errors.New("accepted a request that breaks a rule")
		}
		return nil
	}
	return v
}

// tokenShaped is the shape of every page token, written apart from the
// ledger's own check: 40 bytes, canonical base64url without padding.
func tokenShaped(tok string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	return err == nil && len(raw) == 40 && base64.RawURLEncoding.EncodeToString(raw) == tok
}

// fuzzPageKey is the key FuzzPageToken's tokens are issued under.
var fuzzPageKey = []byte("fuzz page token key, 32 bytes...")

// FuzzPageToken checks the page token parser: it never panics; a token it
// accepts is exactly the one Issue writes for what it read, so no two
// tokens name one position; it is accepted for its account only; and
// Validate, which cannot check the MAC, accepts its shape.
func FuzzPageToken(f *testing.F) {
	pages := ledger.NewPageTokens(fuzzPageKey)
	f.Add("A-1", pages.Issue("A-1", time.UnixMicro(1_700_000_000_000_000), "7e63a5d9-e0e1-4add-ab2e-64393609d5f6"))
	f.Add("A-1", pages.Issue("A-1", time.UnixMicro(-1), "00000000-0000-0000-0000-000000000000"))
	f.Add("B-2", pages.Issue("A-1", time.UnixMicro(5), "7e63a5d9-e0e1-4add-ab2e-64393609d5f6"))
	f.Add("A-1", "MTcwMC83ZTYzYTVkOS1lMGUxLTRhZGQtYWIyZS02NDM5MzYwOWQ1ZjY")
	f.Fuzz(func(t *testing.T, account, tok string) {
		at, id, ok := pages.Parse(account, tok)
		if !ok {
			return
		}
		if again := pages.Issue(account, at, id); again != tok {
			t.Fatalf("accepted %q as (%v, %s), which is written %q", tok, at, id, again)
		}
		if _, _, ok := pages.Parse(account+"x", tok); ok {
			t.Fatalf("%q accepted for %q and %q", tok, account, account+"x")
		}
		if err := (ledger.StatementQuery{AccountID: "A-1", PageToken: tok}).Validate(); err != nil {
			t.Fatalf("parser accepts %q, Validate refuses: %v", tok, err)
		}
	})
}
