package ledger

import (
	"context"
	"fmt"
	"time"
)

// Promo is a promotional deposit with a hard total quota: the sum of all
// subscriptions never exceeds TotalQuota, each customer subscribes at most
// once and at most MaxPerCustomer, and only while the promo is open.
type Promo struct {
	ID             string
	Currency       string
	TotalQuota     int64
	MaxPerCustomer int64
	AnnualRateBps  int32
	OpensAt        time.Time
	ClosesAt       time.Time
	CreatedAt      time.Time
	// Term is how long each subscription runs from its own subscription
	// time; zero for a promo created before promos had terms, whose
	// subscriptions never mature.
	Term time.Duration
	// EarlyRateBps is the annual rate paid on early cancellation.
	EarlyRateBps int32
	// WithholdingBps is the tax withheld on interest.
	WithholdingBps int32
}

// MaturesAt is when a subscription made at subscribed matures; the zero
// time when the promo has no term.
func (p Promo) MaturesAt(subscribed time.Time) time.Time {
	if p.Term <= 0 {
		return time.Time{}
	}
	return subscribed.Add(p.Term)
}

// PromoStatus is a promo with how much of its quota is sold.
type PromoStatus struct {
	Promo
	Subscribed int64
}

// Remaining is the quota still for sale.
func (s PromoStatus) Remaining() int64 { return s.TotalQuota - s.Subscribed }

// SoldOut reports whether nothing remains.
func (s PromoStatus) SoldOut() bool { return s.Remaining() <= 0 }

// CheckOpen returns PROMO_NOT_OPEN before the promo opens and PROMO_CLOSED
// from its closing time on.
func (p Promo) CheckOpen(now time.Time) error {
	switch {
	case now.Before(p.OpensAt):
		return Errorf(CodePromoNotOpen, "promo %s opens at %s", p.ID, p.OpensAt.Format(time.RFC3339))
	case !now.Before(p.ClosesAt):
		return Errorf(CodePromoClosed, "promo %s closed at %s", p.ID, p.ClosesAt.Format(time.RFC3339))
	}
	return nil
}

// CheckAmount returns PROMO_LIMIT_EXCEEDED if amount is over the
// per-customer maximum.
func (p Promo) CheckAmount(amount int64) error {
	if amount > p.MaxPerCustomer {
		return Errorf(CodePromoLimitExceeded, "promo %s takes at most %d per customer", p.ID, p.MaxPerCustomer)
	}
	return nil
}

// Subscription is one customer's deposit in a promo: the money sits in a
// promo deposit account opened for it until it matures, or the customer
// cancels it, and is then paid back to FromAccount.
type Subscription struct {
	PromoID     string
	CustomerID  string
	AccountID   string
	Amount      int64
	Entry       Entry
	FromAccount string
	Status      SubscriptionStatus
	CreatedAt   time.Time
	MaturesAt   time.Time
	// Once paid back: the interest, the tax withheld from it, the entry
	// that paid them, and when.
	Interest      int64
	Tax           int64
	PayoutEntryID string
	ClosedAt      time.Time
	// PayoutEntry is the entry that paid it back, in the answer to the call
	// that did (CancelSubscription); a listing leaves it out.
	PayoutEntry *Entry `json:",omitempty"`
}

// SubscriptionStatus is where a subscription is in its life.
type SubscriptionStatus int

// Subscription statuses.
const (
	SubscriptionUnspecified SubscriptionStatus = iota
	// SubscriptionActive: the money is deposited.
	SubscriptionActive
	// SubscriptionMatured: paid back at maturity at the promo's rate.
	SubscriptionMatured
	// SubscriptionCancelled: paid back early at the promo's early rate.
	SubscriptionCancelled
)

// String returns the status's name.
func (s SubscriptionStatus) String() string {
	switch s {
	case SubscriptionActive:
		return "ACTIVE"
	case SubscriptionMatured:
		return "MATURED"
	case SubscriptionCancelled:
		return "CANCELLED"
	}
	return fmt.Sprintf("SubscriptionStatus(%d)", int(s))
}

// CheckCancel returns why sub cannot be cancelled at now: it was paid back
// already, or it has matured (the payer pays it at the full rate).
func (sub Subscription) CheckCancel(now time.Time) error {
	switch {
	case sub.Status == SubscriptionCancelled:
		return Errorf(CodeSubscriptionCancelled, "subscription of %s to promo %s was cancelled already", sub.CustomerID, sub.PromoID)
	case sub.Status == SubscriptionMatured, !sub.MaturesAt.IsZero() && !now.Before(sub.MaturesAt):
		return Errorf(CodeSubscriptionMatured, "subscription of %s to promo %s has matured", sub.CustomerID, sub.PromoID)
	}
	return nil
}

// ClosingEntry is the entry that pays sub back: the principal from its
// promo deposit account, the interest from the currency's interest
// expense account, the tax to its tax payable account, and the net to the
// account the money came from. A zero interest or tax has no posting.
func (sub Subscription) ClosingEntry(kind EntryKind, requestID, currency string, pay Payout) Entry {
	e := Entry{Kind: kind, RequestID: requestID, Memo: "promo " + sub.PromoID, Postings: []Posting{
		{AccountID: sub.AccountID, Currency: currency, Amount: -pay.Principal},
		{AccountID: sub.FromAccount, Currency: currency, Amount: pay.Net()},
	}}
	if pay.Interest > 0 {
		e.Postings = append(e.Postings, Posting{AccountID: InterestExpenseAccountID(currency), Currency: currency, Amount: -pay.Interest})
	}
	if pay.Tax > 0 {
		e.Postings = append(e.Postings, Posting{AccountID: TaxPayableAccountID(currency), Currency: currency, Amount: pay.Tax})
	}
	return e
}

// PayoutRequestID is the request id of the payout of one subscription: the
// same for every payer, so that a subscription is paid once whatever
// crashes or second instances happen.
func PayoutRequestID(promoID, customerID string) string {
	return "payout:" + promoID + ":" + customerID
}

// PayoutFingerprint is the fingerprint of the request that pays sub at
// maturity (PayoutRequestID).
func (sub Subscription) PayoutFingerprint() []byte {
	return fingerprint("promo_payout", sub.PromoID, sub.CustomerID)
}

// CancelSubscriptionRequest ends a subscription before it matures.
type CancelSubscriptionRequest struct {
	RequestID  string
	PromoID    string
	CustomerID string
}

// Validate reports every invalid field of r.
func (r CancelSubscriptionRequest) Validate() error {
	var v violations
	checkID(&v, "request_id", r.RequestID, true)
	checkID(&v, "promo_id", r.PromoID, true)
	checkID(&v, "customer_id", r.CustomerID, true)
	return v.err()
}

// Fingerprint returns the SHA-256 of r's content.
func (r CancelSubscriptionRequest) Fingerprint() []byte {
	return fingerprint("cancel_subscription", r.PromoID, r.CustomerID)
}

// SubscriptionQuery pages through a promo's subscriptions by customer id.
type SubscriptionQuery struct {
	PromoID string
	// After is the last customer id of the previous page; "" for the first.
	After string
	// Limit is the most subscriptions returned: 1 to MaxPageSize.
	Limit int
}

// CreatePromoRequest defines a promo.
type CreatePromoRequest struct {
	RequestID      string
	PromoID        string
	Currency       string
	TotalQuota     int64
	MaxPerCustomer int64
	AnnualRateBps  int32
	OpensAt        time.Time
	ClosesAt       time.Time
	Term           time.Duration
	EarlyRateBps   int32
	WithholdingBps int32
}

// MaxPromoWindow bounds how long a promo is on sale.
const MaxPromoWindow = 366 * 24 * time.Hour

// The bounds of a promo's term.
const (
	MinPromoTerm = time.Minute
	MaxPromoTerm = 10 * SecondsPerYear * time.Second
)

// Validate reports every invalid field of r.
func (r CreatePromoRequest) Validate() error {
	var v violations
	checkID(&v, "request_id", r.RequestID, true)
	checkID(&v, "promo_id", r.PromoID, true)
	checkCurrency(&v, r.Currency)
	checkAmount(&v, "total_quota", r.TotalQuota)
	checkAmount(&v, "max_per_customer", r.MaxPerCustomer)
	if r.MaxPerCustomer > r.TotalQuota {
		v.add("max_per_customer", "must not exceed total_quota")
	}
	checkBps(&v, "annual_rate_bps", r.AnnualRateBps)
	checkBps(&v, "early_rate_bps", r.EarlyRateBps)
	checkBps(&v, "withholding_bps", r.WithholdingBps)
	switch {
	case r.Term < MinPromoTerm || r.Term > MaxPromoTerm:
		v.add("term", "must be between 1 minute and 10 years")
	case r.MaxPerCustomer > 0 && r.MaxPerCustomer <= MaxAmount && r.AnnualRateBps >= 0 && r.AnnualRateBps <= 10_000 &&
		PayoutFor(r.MaxPerCustomer, r.AnnualRateBps, 0, r.Term).Net() > MaxAmount:
		v.add("max_per_customer", "with a term's interest must be at most %d", MaxAmount)
	}
	switch {
	case r.OpensAt.IsZero() || r.ClosesAt.IsZero() || !r.OpensAt.Before(r.ClosesAt):
		v.add("closes_at", "opens_at and closes_at are required, and closes_at must be after opens_at")
	case r.ClosesAt.Sub(r.OpensAt) > MaxPromoWindow:
		v.add("closes_at", "must be at most %d days after opens_at", int(MaxPromoWindow.Hours()/24))
	}
	return v.err()
}

// Fingerprint returns the SHA-256 of r's content.
func (r CreatePromoRequest) Fingerprint() []byte {
	return fingerprint("create_promo", r.PromoID, r.Currency, itoa(r.TotalQuota), itoa(r.MaxPerCustomer),
		itoa(int64(r.AnnualRateBps)), itoa(r.OpensAt.UnixMicro()), itoa(r.ClosesAt.UnixMicro()),
		itoa(int64(r.Term)), itoa(int64(r.EarlyRateBps)), itoa(int64(r.WithholdingBps)))
}

// checkBps checks a rate in basis points: 0 to 10000.
func checkBps(v *violations, field string, bps int32) {
	if bps < 0 || bps > 10_000 {
		v.add(field, "must be between 0 and 10000")
	}
}

// ValidatePromoID reports whether id can name a promo.
func ValidatePromoID(id string) error {
	var v violations
	checkID(&v, "promo_id", id, true)
	return v.err()
}

// SubscribeRequest subscribes a customer to a promo, paying Amount from
// the customer's own account.
type SubscribeRequest struct {
	RequestID   string
	PromoID     string
	CustomerID  string
	FromAccount string
	Amount      int64
	// AllowPartial takes what remains when less than Amount does, instead
	// of refusing.
	AllowPartial bool
}

// Validate reports every invalid field of r.
func (r SubscribeRequest) Validate() error {
	var v violations
	checkID(&v, "request_id", r.RequestID, true)
	checkID(&v, "promo_id", r.PromoID, true)
	checkID(&v, "customer_id", r.CustomerID, true)
	checkID(&v, "from_account_id", r.FromAccount, true)
	checkAmount(&v, "amount", r.Amount)
	return v.err()
}

// CheckOwner returns INVALID_ARGUMENT unless from, the account the money
// comes from, is the subscribing customer's own.
func (r SubscribeRequest) CheckOwner(from Account) error {
	if from.CustomerID != r.CustomerID {
		return &Error{Code: CodeInvalidArgument, Message: "not the customer's account",
			Fields: []FieldViolation{{Field: "from_account_id", Description: "must be an account of customer_id"}}}
	}
	return nil
}

// Fingerprint returns the SHA-256 of r's content.
func (r SubscribeRequest) Fingerprint() []byte {
	partial := "0"
	if r.AllowPartial {
		partial = "1"
	}
	return fingerprint("subscribe", r.PromoID, r.CustomerID, r.FromAccount, itoa(r.Amount), partial)
}

// Validate reports every invalid field of q; a zero Limit is DefaultPageSize.
func (q SubscriptionQuery) Validate() error {
	var v violations
	checkID(&v, "promo_id", q.PromoID, true)
	checkID(&v, "after_customer_id", q.After, false)
	if q.Limit < 0 || q.Limit > MaxPageSize {
		v.add("page_size", "must be between 0 and %d", MaxPageSize)
	}
	return v.err()
}

// Promotions sells promotional deposits. Its methods return the errors
// listed on Ledger, and these.
type Promotions interface {
	PromoMemory
	// CreatePromo defines a promo. Errors: PROMO_EXISTS.
	CreatePromo(ctx context.Context, r CreatePromoRequest) (PromoStatus, error)
	// GetPromo returns a promo and its sales. Errors: PROMO_NOT_FOUND.
	GetPromo(ctx context.Context, promoID string) (PromoStatus, error)
	// Subscribe opens the customer's promo deposit account and moves the
	// amount into it, consuming quota, in one transaction. Errors:
	// PROMO_NOT_FOUND, PROMO_NOT_OPEN, PROMO_CLOSED, PROMO_SOLD_OUT,
	// PROMO_ALREADY_SUBSCRIBED, PROMO_LIMIT_EXCEEDED, and those of Transfer.
	Subscribe(ctx context.Context, r SubscribeRequest) (Subscription, error)
	// CancelSubscription pays an active subscription back before it
	// matures, at the promo's early rate; the quota stays taken. Errors:
	// PROMO_NOT_FOUND, SUBSCRIPTION_NOT_FOUND, SUBSCRIPTION_MATURED,
	// SUBSCRIPTION_CANCELLED, and those of Transfer.
	CancelSubscription(ctx context.Context, r CancelSubscriptionRequest) (Subscription, error)
	// ListSubscriptions returns a page of a promo's subscriptions, by
	// customer id. Errors: PROMO_NOT_FOUND.
	ListSubscriptions(ctx context.Context, q SubscriptionQuery) ([]Subscription, error)
}

// PromoMemory is implemented by Promotions that can answer some
// subscriptions from memory. A server asks it before it spends a worker slot
// or a database connection on the call, so that a final answer (sold out,
// already subscribed) always wins over "busy, try again".
type PromoMemory interface {
	// KnownAnswer returns PROMO_SOLD_OUT or PROMO_ALREADY_SUBSCRIBED when
	// that is r's answer and it is known without a database round trip,
	// and nil when only Subscribe can answer (a replay of a request that
	// subscribed always goes to Subscribe, which returns its result).
	KnownAnswer(ctx context.Context, r SubscribeRequest) error
}
