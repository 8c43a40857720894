package ledger

import (
	"context"
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
// promo deposit account opened for it.
type Subscription struct {
	PromoID    string
	CustomerID string
	AccountID  string
	Amount     int64
	Entry      Entry
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
}

// MaxPromoWindow bounds how long a promo is on sale.
const MaxPromoWindow = 366 * 24 * time.Hour

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
	if r.AnnualRateBps < 0 || r.AnnualRateBps > 10_000 {
		v.add("annual_rate_bps", "must be between 0 and 10000")
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
		itoa(int64(r.AnnualRateBps)), itoa(r.OpensAt.UnixMicro()), itoa(r.ClosesAt.UnixMicro()))
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

// Fingerprint returns the SHA-256 of r's content.
func (r SubscribeRequest) Fingerprint() []byte {
	partial := "0"
	if r.AllowPartial {
		partial = "1"
	}
	return fingerprint("subscribe", r.PromoID, r.CustomerID, r.FromAccount, itoa(r.Amount), partial)
}

// Promotions sells promotional deposits. Its methods return the errors
// listed on Ledger, and these.
type Promotions interface {
	// CreatePromo defines a promo. Errors: PROMO_EXISTS.
	CreatePromo(ctx context.Context, r CreatePromoRequest) (PromoStatus, error)
	// GetPromo returns a promo and its sales. Errors: PROMO_NOT_FOUND.
	GetPromo(ctx context.Context, promoID string) (PromoStatus, error)
	// Subscribe opens the customer's promo deposit account and moves the
	// amount into it, consuming quota, in one transaction. Errors:
	// PROMO_NOT_FOUND, PROMO_NOT_OPEN, PROMO_CLOSED, PROMO_SOLD_OUT,
	// PROMO_ALREADY_SUBSCRIBED, PROMO_LIMIT_EXCEEDED, and those of Transfer.
	Subscribe(ctx context.Context, r SubscribeRequest) (Subscription, error)
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
