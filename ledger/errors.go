package ledger

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable reason for a failed operation. Clients
// switch on it; it never changes meaning once published.
type Code string

// The reasons the ledger can give. The transport maps each to a status code
// and a customer-readable message in exactly one table.
const (
	CodeInvalidArgument        Code = "INVALID_ARGUMENT"
	CodeAccountNotFound        Code = "ACCOUNT_NOT_FOUND"
	CodeAccountExists          Code = "ACCOUNT_EXISTS"
	CodeAccountFrozen          Code = "ACCOUNT_FROZEN"
	CodeAccountClosed          Code = "ACCOUNT_CLOSED"
	CodeCurrencyMismatch       Code = "CURRENCY_MISMATCH"
	CodeInsufficientFunds      Code = "INSUFFICIENT_FUNDS"
	CodeBalanceLimitExceeded   Code = "BALANCE_LIMIT_EXCEEDED"
	CodeIdempotencyConflict    Code = "IDEMPOTENCY_CONFLICT"
	CodeHoldNotFound           Code = "HOLD_NOT_FOUND"
	CodeHoldExpired            Code = "HOLD_EXPIRED"
	CodeHoldNotActive          Code = "HOLD_NOT_ACTIVE"
	CodeHoldAmountExceeded     Code = "HOLD_AMOUNT_EXCEEDED"
	CodePromoNotFound          Code = "PROMO_NOT_FOUND"
	CodePromoExists            Code = "PROMO_EXISTS"
	CodePromoSoldOut           Code = "PROMO_SOLD_OUT"
	CodePromoNotOpen           Code = "PROMO_NOT_OPEN"
	CodePromoClosed            Code = "PROMO_CLOSED"
	CodePromoAlreadySubscribed Code = "PROMO_ALREADY_SUBSCRIBED"
	CodePromoLimitExceeded     Code = "PROMO_LIMIT_EXCEEDED"
	// A promo subscription's life: none for that customer, or it was paid
	// back already (matured, or cancelled).
	CodeSubscriptionNotFound  Code = "SUBSCRIPTION_NOT_FOUND"
	CodeSubscriptionMatured   Code = "SUBSCRIPTION_MATURED"
	CodeSubscriptionCancelled Code = "SUBSCRIPTION_CANCELLED"
	CodeUnavailable           Code = "UNAVAILABLE"
	CodeInternal              Code = "INTERNAL"
	// The posting engine: general entries, reversals, batches, and who may
	// debit what.
	CodeEntryNotFound           Code = "ENTRY_NOT_FOUND"
	CodeEntryAlreadyReversed    Code = "ENTRY_ALREADY_REVERSED"
	CodeEntryNotReversible      Code = "ENTRY_NOT_REVERSIBLE"
	CodeDebitNotPermitted       Code = "DEBIT_NOT_PERMITTED"
	CodeAccountKindNotPermitted Code = "ACCOUNT_KIND_NOT_PERMITTED"
	CodeReversalNotPermitted    Code = "REVERSAL_NOT_PERMITTED"
	CodeBatchItemNotApplied     Code = "BATCH_ITEM_NOT_APPLIED"
	// The journal's proofs: no sealed record is that entry or sequence; no
	// signed checkpoint covers the record yet; a tree size the journal
	// does not have, or one that does not hold the record.
	CodeRecordNotFound     Code = "JOURNAL_RECORD_NOT_FOUND"
	CodeNotCheckpointed    Code = "JOURNAL_NOT_CHECKPOINTED"
	CodeTreeSizeOutOfRange Code = "TREE_SIZE_OUT_OF_RANGE"
	// CodeDatabaseUnavailable means the database could not be reached, or
	// did not answer in time, and the request changed nothing: the caller
	// retries, with the same request id.
	CodeDatabaseUnavailable Code = "DATABASE_UNAVAILABLE"
	// CodeOutcomeUnknown means the request's COMMIT was sent but its answer
	// was lost (the connection broke, the database stopped, the time ran
	// out): it may or may not have been applied. A retry with the same
	// request id applies it at most once and returns its result.
	CodeOutcomeUnknown Code = "OUTCOME_UNKNOWN"
	// CodeMalformedRequest: the request's bytes are not the message they
	// were sent as (broken wire format, a string that is not UTF-8).
	CodeMalformedRequest Code = "MALFORMED_REQUEST"
	// CodeRequestTooLarge: the request is larger than the server reads.
	CodeRequestTooLarge Code = "REQUEST_TOO_LARGE"
)

// FieldViolation names one invalid request field and why it is invalid.
type FieldViolation struct {
	Field       string
	Description string
}

// Error is a domain error: a stable Code, a message for the logs, and for
// invalid input the offending fields.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldViolation
	// Err is the underlying cause, if any; it is logged, never shown to a caller.
	Err error
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, ledger.ErrInsufficientFunds) works for any message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the Code of err: CodeInternal for any error that is not
// an *Error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Sentinels for errors.Is; they match any *Error with the same Code.
var (
	ErrInvalidArgument      = &Error{Code: CodeInvalidArgument}
	ErrAccountNotFound      = &Error{Code: CodeAccountNotFound}
	ErrAccountExists        = &Error{Code: CodeAccountExists}
	ErrAccountFrozen        = &Error{Code: CodeAccountFrozen}
	ErrAccountClosed        = &Error{Code: CodeAccountClosed}
	ErrCurrencyMismatch     = &Error{Code: CodeCurrencyMismatch}
	ErrInsufficientFunds    = &Error{Code: CodeInsufficientFunds}
	ErrBalanceLimitExceeded = &Error{Code: CodeBalanceLimitExceeded}
	ErrIdempotencyConflict  = &Error{Code: CodeIdempotencyConflict}
	ErrHoldNotFound         = &Error{Code: CodeHoldNotFound}
	ErrHoldExpired          = &Error{Code: CodeHoldExpired}
	ErrHoldNotActive        = &Error{Code: CodeHoldNotActive}
	ErrHoldAmountExceeded   = &Error{Code: CodeHoldAmountExceeded}
	ErrPromoSoldOut         = &Error{Code: CodePromoSoldOut}
	ErrUnavailable          = &Error{Code: CodeUnavailable}
	ErrEntryNotFound        = &Error{Code: CodeEntryNotFound}
	ErrEntryAlreadyReversed = &Error{Code: CodeEntryAlreadyReversed}
	ErrEntryNotReversible   = &Error{Code: CodeEntryNotReversible}
	ErrDebitNotPermitted    = &Error{Code: CodeDebitNotPermitted}
	ErrBatchItemNotApplied  = &Error{Code: CodeBatchItemNotApplied}
	ErrDatabaseUnavailable  = &Error{Code: CodeDatabaseUnavailable}
	ErrOutcomeUnknown       = &Error{Code: CodeOutcomeUnknown}
)

// violations collects field violations while a request is validated.
type violations []FieldViolation

func (v *violations) add(field, format string, args ...any) {
	*v = append(*v, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// err returns nil when nothing was collected, otherwise an INVALID_ARGUMENT
// error listing every violation.
func (v violations) err() error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalidArgument, Message: "invalid request", Fields: v}
}
