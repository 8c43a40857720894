package ledger

import (
	"math/bits"
	"time"
)

// SecondsPerYear is the year of the interest formula: actual/365, so a
// leap year's extra day earns a 365th more.
const SecondsPerYear = 365 * 24 * 60 * 60

// Interest is what principal earns over seconds at rateBps basis points a
// year, in the currency's minor units, rounded down:
//
//	floor(principal * rateBps * seconds / (10000 * 31536000))
//
// The product is computed in 128 bits, exactly: principal up to MaxAmount,
// a rate up to 10000 and ten years of seconds overflow int64 but not 128
// bits, and the quotient (at most ten times the principal) fits int64. A
// negative argument earns nothing.
func Interest(principal int64, rateBps int32, seconds int64) int64 {
	if principal <= 0 || rateBps <= 0 || seconds <= 0 {
		return 0
	}
	if principal > MaxAmount || rateBps > 10_000 || seconds > int64(MaxPromoTerm/time.Second) {
		panic("ledger.Interest: argument out of range") // validated requests never get here
	}
	pr := uint64(principal) * uint64(rateBps) // at most 10^15 * 10^4 < 2^64
	hi, lo := bits.Mul64(pr, uint64(seconds))
	q, _ := bits.Div64(hi, lo, 10_000*SecondsPerYear) // hi < divisor: no overflow
	return int64(q)
}

// Withholding is the tax withheld on interest at withholdingBps basis
// points, rounded down: floor(interest * withholdingBps / 10000).
func Withholding(interest int64, withholdingBps int32) int64 {
	if interest <= 0 || withholdingBps <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(interest), uint64(withholdingBps))
	q, _ := bits.Div64(hi, lo, 10_000)
	return int64(q)
}

// Payout is what a subscription pays back: its principal and interest,
// less the tax withheld.
type Payout struct {
	Principal int64
	Interest  int64
	Tax       int64
}

// Net is what the customer receives.
func (p Payout) Net() int64 { return p.Principal + p.Interest - p.Tax }

// PayoutFor is what principal pays back after elapsed at rateBps, with
// withholdingBps of its interest withheld. Interest counts whole seconds.
func PayoutFor(principal int64, rateBps, withholdingBps int32, elapsed time.Duration) Payout {
	i := Interest(principal, rateBps, int64(max(elapsed, 0)/time.Second))
	return Payout{Principal: principal, Interest: i, Tax: Withholding(i, withholdingBps)}
}
