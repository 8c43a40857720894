package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits on request fields.
const (
	MaxIDLength    = 64
	MaxMemoLength  = 140 // characters
	DefaultHoldTTL = 15 * time.Minute
	MaxHoldTTL     = 7 * 24 * time.Hour
)

// validID reports whether id is made of ASCII letters, digits, '.', '_', ':'
// and '-', and starts with a letter or digit. (A loop, not a regular
// expression: every request checks several ids, and a regexp match was a
// visible share of a transfer's CPU.)
func validID(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == ':' || c == '-'):
		default:
			return false
		}
	}
	return id != ""
}

// OpenAccountRequest opens an account. AccountID is generated when empty.
type OpenAccountRequest struct {
	RequestID  string
	AccountID  string
	CustomerID string
	Currency   string
	Kind       Kind
}

// DepositRequest credits cash paid in to an account, from the vault.
type DepositRequest struct {
	RequestID string
	AccountID string
	Amount    int64
	Currency  string
	Memo      string
}

// TransferRequest moves Amount from one account to another.
type TransferRequest struct {
	RequestID string
	From      string
	To        string
	Amount    int64
	Currency  string
	Memo      string
}

// WithdrawRequest pays cash out of an account at an ATM.
type WithdrawRequest struct {
	RequestID string
	AccountID string
	Amount    int64
	Currency  string
	ATMID     string
}

// PlaceHoldRequest reserves Amount of an account's available balance for TTL.
type PlaceHoldRequest struct {
	RequestID string
	AccountID string
	Amount    int64
	Currency  string
	TTL       time.Duration // DefaultHoldTTL when zero
	ATMID     string        // optional: the ATM a capture pays out at
}

// CaptureHoldRequest takes Amount of a hold (the whole hold when zero) and
// releases the rest.
type CaptureHoldRequest struct {
	RequestID string
	HoldID    string
	Amount    int64
}

// VoidHoldRequest releases a hold without moving money.
type VoidHoldRequest struct {
	RequestID string
	HoldID    string
}

// Validate reports every invalid field of r.
func (r OpenAccountRequest) Validate() error {
	var v violations
	checkID(&v, "request_id", r.RequestID, true)
	checkID(&v, "account_id", r.AccountID, false)
	if strings.HasPrefix(r.AccountID, systemPrefix) {
		v.add("account_id", "must not start with %q, which is reserved for the ledger's own accounts", systemPrefix)
	}
	checkID(&v, "customer_id", r.CustomerID, r.Kind == KindCustomer)
	checkCurrency(&v, r.Currency)
	if r.Kind != KindCustomer && r.Kind != KindInternal {
		v.add("kind", "must be CUSTOMER or INTERNAL")
	}
	return v.err()
}

// Authorize refuses an INTERNAL account to a caller without the
// operator's authority: an internal account may go negative, so whoever
// may debit one could create money.
func (r OpenAccountRequest) Authorize(ctx context.Context) error {
	if r.Kind == KindInternal && !Privileged(ctx) {
		return Errorf(CodeAccountKindNotPermitted, "only an operator may open an internal account")
	}
	return nil
}

// Validate reports every invalid field of r.
func (r DepositRequest) Validate() error {
	var v violations
	checkID(&v, "request_id", r.RequestID, true)
	checkID(&v, "account_id", r.AccountID, true)
	checkAmount(&v, "amount", r.Amount)
	checkCurrency(&v, r.Currency)
	checkMemo(&v, r.Memo)
	return v.err()
}

// Validate reports every invalid field of r.
func (r TransferRequest) Validate() error {
	var v violations
	checkID(&v, "request_id", r.RequestID, true)
	checkID(&v, "from_account_id", r.From, true)
	checkID(&v, "to_account_id", r.To, true)
	if r.From != "" && r.From == r.To {
		v.add("to_account_id", "must differ from from_account_id")
	}
	checkAmount(&v, "amount", r.Amount)
	checkCurrency(&v, r.Currency)
	checkMemo(&v, r.Memo)
	return v.err()
}

// Validate reports every invalid field of r.
func (r WithdrawRequest) Validate() error {
	var v violations
	checkID(&v, "request_id", r.RequestID, true)
	checkID(&v, "account_id", r.AccountID, true)
	checkAmount(&v, "amount", r.Amount)
	checkCurrency(&v, r.Currency)
	checkID(&v, "atm_id", r.ATMID, true)
	return v.err()
}

// Validate reports every invalid field of r.
func (r PlaceHoldRequest) Validate() error {
	var v violations
	checkID(&v, "request_id", r.RequestID, true)
	checkID(&v, "account_id", r.AccountID, true)
	checkAmount(&v, "amount", r.Amount)
	checkCurrency(&v, r.Currency)
	checkID(&v, "atm_id", r.ATMID, false)
	if r.TTL < 0 || r.TTL > MaxHoldTTL || (r.TTL > 0 && r.TTL < time.Second) {
		v.add("ttl", "must be between 1s and %s", MaxHoldTTL)
	}
	return v.err()
}

// Validate reports every invalid field of r.
func (r CaptureHoldRequest) Validate() error {
	var v violations
	checkID(&v, "request_id", r.RequestID, true)
	checkHoldID(&v, r.HoldID)
	if r.Amount != 0 {
		checkAmount(&v, "amount", r.Amount)
	}
	return v.err()
}

// Validate reports every invalid field of r.
func (r VoidHoldRequest) Validate() error {
	var v violations
	checkID(&v, "request_id", r.RequestID, true)
	checkHoldID(&v, r.HoldID)
	return v.err()
}

// Fingerprints identify a request's content, so that a replay of a
// request_id can be told from a reuse with other content. Each field is
// written length-prefixed after the operation's name, so no two different
// requests share a fingerprint.

// Fingerprint returns the SHA-256 of r's content.
func (r OpenAccountRequest) Fingerprint() []byte {
	return fingerprint("open_account", r.AccountID, r.CustomerID, r.Currency, r.Kind.String())
}

// Fingerprint returns the SHA-256 of r's content.
func (r DepositRequest) Fingerprint() []byte {
	return fingerprint("deposit", r.AccountID, itoa(r.Amount), r.Currency, r.Memo)
}

// Fingerprint returns the SHA-256 of r's content.
func (r TransferRequest) Fingerprint() []byte {
	return fingerprint("transfer", r.From, r.To, itoa(r.Amount), r.Currency, r.Memo)
}

// Fingerprint returns the SHA-256 of r's content.
func (r WithdrawRequest) Fingerprint() []byte {
	return fingerprint("withdraw", r.AccountID, itoa(r.Amount), r.Currency, r.ATMID)
}

// Fingerprint returns the SHA-256 of r's content.
func (r PlaceHoldRequest) Fingerprint() []byte {
	return fingerprint("place_hold", r.AccountID, itoa(r.Amount), r.Currency, r.TTL.String(), r.ATMID)
}

// Fingerprint returns the SHA-256 of r's content.
func (r CaptureHoldRequest) Fingerprint() []byte {
	return fingerprint("capture_hold", r.HoldID, itoa(r.Amount))
}

// Fingerprint returns the SHA-256 of r's content.
func (r VoidHoldRequest) Fingerprint() []byte {
	return fingerprint("void_hold", r.HoldID)
}

func fingerprint(op string, fields ...string) []byte {
	h := sha256.New()
	var n [8]byte
	for _, f := range append([]string{op}, fields...) {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return h.Sum(nil)
}

func itoa(n int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	return string(b[:])
}

func checkID(v *violations, field, id string, required bool) {
	switch {
	case id == "":
		if required {
			v.add(field, "is required")
		}
	case len(id) > MaxIDLength:
		v.add(field, "must be at most %d characters", MaxIDLength)
	case !validID(id):
		v.add(field, "may contain only letters, digits, '.', '_', ':' and '-', and must start with a letter or digit")
	}
}

func checkHoldID(v *violations, id string) {
	if id == "" {
		v.add("hold_id", "is required")
	} else if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		v.add("hold_id", "must be a hold id returned by PlaceHold")
	}
}

func checkEntryID(v *violations, field, id string) {
	if id == "" {
		v.add(field, "is required")
	} else if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		v.add(field, "must be an entry id the ledger returned")
	}
}

func checkAmount(v *violations, field string, amount int64) {
	if amount <= 0 || amount > MaxAmount {
		v.add(field, "must be between 1 and %d minor units", MaxAmount)
	}
}

func checkCurrency(v *violations, code string) {
	if _, ok := MinorUnits(code); !ok {
		v.add("currency", "must be a supported ISO 4217 code (%s)", strings.Join(sortedCurrencies(), ", "))
	}
}

func checkMemo(v *violations, memo string) { checkText(v, "memo", memo) }

// checkText checks free text a person wrote (a memo, a reason), which
// reaches statements and the journal as it is.
func checkText(v *violations, field, text string) {
	switch {
	case !utf8.ValidString(text):
		v.add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(text) > MaxMemoLength:
		v.add(field, "must be at most %d characters", MaxMemoLength)
	case strings.IndexFunc(text, unprintable) >= 0:
		v.add(field, "must not contain control, text-direction or invisible characters")
	}
}

// unprintable is a rune a memo must not hold, because what a statement
// line shows would then differ from what it says:
//   - control characters (Cc): NUL, which PostgreSQL's text refuses, and
//     terminal escapes, which would reach a teller's screen;
//   - format characters (Cf), which are invisible by definition: every
//     bidirectional mark, embedding, override and isolate (U+200E, U+200F,
//     U+061C, U+202A-U+202E, U+2066-U+2069), zero-width spaces, the
//     byte-order mark U+FEFF, soft hyphens; all but the two joiners, which
//     Persian, the Indic scripts and emoji sequences need to be written;
//   - the line and paragraph separators U+2028 and U+2029 (Zl, Zp), which
//     break a line where no newline shows;
//   - the Hangul fillers, letters that draw nothing, a known way to hide
//     text among Korean.
func unprintable(r rune) bool {
	switch r {
	case zwnj, zwj:
		return false
	case 0x115F, 0x1160, 0x3164, 0xFFA0: // Hangul choseong and jungseong fillers, Hangul filler, halfwidth filler
		return true
	}
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// The zero-width non-joiner and joiner: format characters that shape
// letters and emoji rather than hide anything.
const (
	zwnj = '\u200C'
	zwj  = '\u200D'
)
