package ledger

import (
	"fmt"
	"strings"
	"time"
)

// Kind says whose money an account holds.
type Kind int

// Account kinds.
const (
	KindUnspecified Kind = iota
	// KindCustomer accounts may never have a negative available balance.
	KindCustomer
	// KindInternal accounts are the bank's own (vault, ATM cash, settlement)
	// and may go negative.
	KindInternal
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindCustomer:
		return "CUSTOMER"
	case KindInternal:
		return "INTERNAL"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Status says whether an account accepts postings.
type Status int

// Account statuses.
const (
	StatusUnspecified Status = iota
	StatusActive
	StatusFrozen
	StatusClosed
)

// String returns the status's name.
func (s Status) String() string {
	switch s {
	case StatusActive:
		return "ACTIVE"
	case StatusFrozen:
		return "FROZEN"
	case StatusClosed:
		return "CLOSED"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Account is a ledger account in one currency. Its balance is kept in
// Shards rows whose sum is the balance; customer accounts have one shard,
// busy internal accounts (the vault) several, so no single row is hot.
type Account struct {
	ID         string
	CustomerID string
	Currency   string
	Kind       Kind
	Status     Status
	Shards     int
	CreatedAt  time.Time
}

// CheckPostable returns an error if the account cannot take a posting in
// currency.
func (a Account) CheckPostable(currency string) error {
	switch a.Status {
	case StatusFrozen:
		return Errorf(CodeAccountFrozen, "account %s is frozen", a.ID)
	case StatusClosed:
		return Errorf(CodeAccountClosed, "account %s is closed", a.ID)
	}
	if a.Currency != currency {
		return Errorf(CodeCurrencyMismatch, "account %s holds %s, not %s", a.ID, a.Currency, currency)
	}
	return nil
}

// CheckDebitor returns DEBIT_NOT_PERMITTED when a caller may not debit the
// account (or hold its money): an internal account, which may go negative,
// takes the operator's authority or a product flow that debits it by
// design (mayDebitInternal).
func (a Account) CheckDebitor(mayDebitInternal bool) error {
	if a.Kind != KindCustomer && !mayDebitInternal {
		return Errorf(CodeDebitNotPermitted, "account %s is the bank's own: this caller may not debit it", a.ID)
	}
	return nil
}

// CheckDebit returns INSUFFICIENT_FUNDS if debiting amount would take a
// customer account's available balance (posted minus held) below zero.
// posted and held are the balance before the debit. Internal accounts may go
// negative, down to the balance limit.
func (a Account) CheckDebit(posted, held, amount int64) error {
	if a.Kind == KindCustomer && posted-held < amount {
		return Errorf(CodeInsufficientFunds, "account %s has %d available, needs %d", a.ID, posted-held, amount)
	}
	return CheckBalance(a.ID, posted-amount)
}

// Balance is an account's balance in minor units.
type Balance struct {
	AccountID string
	Currency  string
	// Posted is the sum of all postings.
	Posted int64
	// Held is the sum of active, unexpired holds.
	Held int64
}

// Available is what the account can spend: posted minus held.
func (b Balance) Available() int64 { return b.Posted - b.Held }

// System accounts are internal accounts the ledger opens itself. Their ids
// start with "sys:", which customers' account ids may not.
const systemPrefix = "sys:"

// IsSystemAccount reports whether id names one of the ledger's own accounts.
func IsSystemAccount(id string) bool { return strings.HasPrefix(id, systemPrefix) }

// VaultAccountID is the vault cash account of a currency: deposits are
// paid in from it.
func VaultAccountID(currency string) string { return systemPrefix + "vault:" + currency }

// ATMAccountID is the cash account of one ATM in one currency: withdrawals
// and captured holds at that ATM are paid out of it.
func ATMAccountID(atmID, currency string) string {
	return systemPrefix + "atm:" + atmID + ":" + currency
}

// SettlementAccountID receives captured holds that name no ATM.
func SettlementAccountID(currency string) string { return systemPrefix + "settlement:" + currency }

// SystemKind says which of the ledger's own accounts an id names.
type SystemKind int

// The ledger's own accounts.
const (
	NotSystem SystemKind = iota
	// SystemVault is a currency's vault: deposits are paid in from it.
	SystemVault
	// SystemSettlement receives captured holds that name no ATM.
	SystemSettlement
	// SystemATM is one ATM's cash account in one currency.
	SystemATM
	// SystemPromo is a customer's deposit in a promo.
	SystemPromo
	// SystemInterestExpense pays a currency's promo interest: only the
	// payer of matured subscriptions, and a cancellation's own entry,
	// debit it.
	SystemInterestExpense
	// SystemTaxPayable receives the tax withheld on a currency's interest.
	SystemTaxPayable
)

// SystemAccount reports which of the ledger's own accounts id names, and
// the currency its id says it holds ("" for a promo deposit, whose id
// names none).
func SystemAccount(id string) (SystemKind, string) {
	rest, ok := strings.CutPrefix(id, systemPrefix)
	if !ok {
		return NotSystem, ""
	}
	kind, rest, _ := strings.Cut(rest, ":")
	currency := rest[strings.LastIndexByte(rest, ':')+1:]
	switch kind {
	case "vault":
		return SystemVault, currency
	case "settlement":
		return SystemSettlement, currency
	case "atm":
		return SystemATM, currency
	case "promo":
		return SystemPromo, ""
	case "interest":
		return SystemInterestExpense, currency
	case "tax":
		return SystemTaxPayable, currency
	}
	return NotSystem, ""
}

// OpenedOnUse reports whether the ledger opens the account of posting p
// itself when first needed: a vault, settlement or ATM cash account, in
// the currency its id names.
func OpenedOnUse(p Posting) bool {
	switch kind, currency := SystemAccount(p.AccountID); kind {
	case SystemVault, SystemSettlement, SystemATM, SystemInterestExpense, SystemTaxPayable:
		return currency == p.Currency
	}
	return false
}

// InterestExpenseAccountID is the account a currency's promo interest is
// paid from.
func InterestExpenseAccountID(currency string) string { return systemPrefix + "interest:" + currency }

// TaxPayableAccountID is the account that holds a currency's tax withheld
// on interest until it is paid to the tax office.
func TaxPayableAccountID(currency string) string { return systemPrefix + "tax:" + currency }

// PromoAccountID is a new promo deposit account's id.
func PromoAccountID(unique string) string { return systemPrefix + "promo:" + unique }
