package ledger

import (
	"context"
	"time"
)

// Ledger is the core ledger. Every mutating method is idempotent by its
// request's RequestID: a replay with the same content returns the original
// result without posting again; a reuse with other content returns
// IDEMPOTENCY_CONFLICT. Every method returns INVALID_ARGUMENT for a request
// that fails Validate; DATABASE_UNAVAILABLE when the database cannot be
// reached in time and nothing was done; OUTCOME_UNKNOWN when a COMMIT was
// sent and its answer lost; UNAVAILABLE when contention outlasts the
// retries; and INTERNAL only for a fault of the ledger's own. After each of
// the three unavailable reasons, a retry with the same request id is safe.
type Ledger interface {
	// OpenAccount opens an account. Errors: ACCOUNT_EXISTS.
	OpenAccount(ctx context.Context, r OpenAccountRequest) (Account, error)
	// GetAccount returns an account. Errors: ACCOUNT_NOT_FOUND.
	GetAccount(ctx context.Context, accountID string) (Account, error)
	// GetBalance returns an account's balance. Errors: ACCOUNT_NOT_FOUND.
	GetBalance(ctx context.Context, accountID string) (Balance, error)
	// ListEntries returns a page of an account's statement, newest first.
	// Errors: ACCOUNT_NOT_FOUND, INVALID_ARGUMENT for a page token this
	// ledger did not issue for this account.
	ListEntries(ctx context.Context, q StatementQuery) (StatementPage, error)

	// Deposit credits an account from the vault. Errors: ACCOUNT_NOT_FOUND,
	// ACCOUNT_FROZEN, ACCOUNT_CLOSED, CURRENCY_MISMATCH, BALANCE_LIMIT_EXCEEDED.
	Deposit(ctx context.Context, r DepositRequest) (Entry, error)
	// Transfer moves money between accounts. Errors: those of Deposit and
	// INSUFFICIENT_FUNDS.
	Transfer(ctx context.Context, r TransferRequest) (Entry, error)
	// Withdraw pays cash out at an ATM. Errors: those of Transfer.
	Withdraw(ctx context.Context, r WithdrawRequest) (Entry, error)
	// PlaceHold reserves funds. Errors: those of Transfer.
	PlaceHold(ctx context.Context, r PlaceHoldRequest) (Hold, error)
	// CaptureHold takes all or part of a hold. Errors: HOLD_NOT_FOUND,
	// HOLD_EXPIRED, HOLD_NOT_ACTIVE, HOLD_AMOUNT_EXCEEDED, and those of Transfer.
	CaptureHold(ctx context.Context, r CaptureHoldRequest) (Capture, error)
	// VoidHold releases a hold. Errors: HOLD_NOT_FOUND, HOLD_EXPIRED,
	// HOLD_NOT_ACTIVE.
	VoidHold(ctx context.Context, r VoidHoldRequest) (Hold, error)

	// PostEntry posts an entry of the caller's own postings. Errors: those
	// of Transfer, and DEBIT_NOT_PERMITTED.
	PostEntry(ctx context.Context, r PostEntryRequest) (Entry, error)
	// ReverseEntry posts the mirror of an entry's postings. Errors:
	// ENTRY_NOT_FOUND, ENTRY_NOT_REVERSIBLE, ENTRY_ALREADY_REVERSED,
	// REVERSAL_NOT_PERMITTED, and those of PostEntry.
	ReverseEntry(ctx context.Context, r ReverseEntryRequest) (Entry, error)
	// SubmitBatch posts each item as its own call would, and returns one
	// result per item, in order. The error is the whole batch's: an
	// INVALID_ARGUMENT batch, or one the database could not take.
	SubmitBatch(ctx context.Context, r SubmitBatchRequest) ([]BatchResult, error)
	// SetAccountStatus changes an account's status and journals the change
	// with its actor and reason; setting the status it has changes and
	// journals nothing. Errors: ACCOUNT_NOT_FOUND, ACCOUNT_CLOSED (a closed
	// account cannot be reopened).
	SetAccountStatus(ctx context.Context, r SetAccountStatusRequest) (Account, error)
}

// Capture is the result of capturing a hold: the finished hold and the
// entry that moved the money.
type Capture struct {
	Hold  Hold
	Entry Entry
}

// Statement page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// StatementQuery asks for one page of an account's statement.
type StatementQuery struct {
	AccountID string
	PageSize  int    // DefaultPageSize when zero; at most MaxPageSize
	PageToken string // from the previous page; empty for the first
}

// Validate reports every invalid field of q.
func (q StatementQuery) Validate() error {
	var v violations
	checkID(&v, "account_id", q.AccountID, true)
	if q.PageSize < 0 || q.PageSize > MaxPageSize {
		v.add("page_size", "must be between 0 and %d", MaxPageSize)
	}
	if q.PageToken != "" && !wellFormedPageToken(q.PageToken) {
		v.add("page_token", "is not a token this server issued")
	}
	return v.err()
}

// StatementLine is one posting on an account's statement.
type StatementLine struct {
	EntryID  string
	Kind     EntryKind
	Amount   int64
	Memo     string
	PostedAt time.Time
	// BalanceAfter is the account's posted balance right after this line;
	// zero for accounts kept in several shards.
	BalanceAfter int64
	// ReversesEntryID is set when the line's entry reverses another.
	ReversesEntryID string
}

// StatementPage is one page of a statement.
type StatementPage struct {
	Lines         []StatementLine
	NextPageToken string // empty on the last page
}
