package ledger

import (
	"fmt"
	"sort"
)

// Amounts are int64 counts of a currency's minor units (won for KRW, cents
// for USD). The limits below keep every sum the ledger computes far from
// int64 overflow: a balance row never exceeds MaxBalance in either direction,
// and an account has at most MaxShards rows, so an account's total stays
// below 64 * 10^17 < 2^63.
const (
	// MaxAmount is the largest amount one operation may move: 10^15 minor
	// units (a quadrillion won).
	MaxAmount int64 = 1_000_000_000_000_000
	// MaxBalance bounds the absolute value of one balance row.
	MaxBalance int64 = 100_000_000_000_000_000
	// MaxShards bounds how many balance rows one account may be split into.
	MaxShards = 64
)

// currencies maps the ISO 4217 codes the ledger accepts to their number of
// minor-unit digits. KRW and JPY have none.
var currencies = map[string]int{
	"KRW": 0,
	"JPY": 0,
	"USD": 2,
	"EUR": 2,
	"GBP": 2,
	"CNY": 2,
}

// MinorUnits returns the number of decimal digits of code's minor unit, and
// whether code is a currency the ledger accepts.
func MinorUnits(code string) (int, bool) {
	d, ok := currencies[code]
	return d, ok
}

// Currencies returns the ISO 4217 codes the ledger accepts, sorted.
func Currencies() []string { return sortedCurrencies() }

func sortedCurrencies() []string {
	out := make([]string, 0, len(currencies))
	for c := range currencies {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// FormatAmount renders amount in major units, e.g. 1234 USD as "12.34 USD".
func FormatAmount(amount int64, currency string) string {
	d, _ := MinorUnits(currency)
	if d == 0 {
		return fmt.Sprintf("%d %s", amount, currency)
	}
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	p := int64(1)
	for range d {
		p *= 10
	}
	return fmt.Sprintf("%s%d.%0*d %s", sign, amount/p, d, amount%p, currency)
}

// CheckBalance returns BALANCE_LIMIT_EXCEEDED if a balance row would leave
// [-MaxBalance, MaxBalance].
func CheckBalance(accountID string, posted int64) error {
	if posted > MaxBalance || posted < -MaxBalance {
		return Errorf(CodeBalanceLimitExceeded, "account %s would exceed the balance limit", accountID)
	}
	return nil
}
