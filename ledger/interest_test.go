package ledger_test

import (
	"math/big"
	"testing"
	"time"

	"github.com/corebanking/ledger/ledger"
)

// The formula of the README, in exact integers.
func TestInterest(t *testing.T) {
	const year = ledger.SecondsPerYear
	tests := []struct {
		name           string
		principal      int64
		rate, withhold int32
		seconds        int64
		interest, tax  int64
	}{
		// The README's example: 10^12 KRW for 60 s at 5%, 15.4% withheld.
		{"Minute", 1_000_000_000_000, 500, 1540, 60, 95_129, 14_649},
		{"Year", 1_000_000, 500, 1540, year, 50_000, 7_700},
		{"LeapYearEarnsADayMore", 36_500_000, 100, 0, year + 86_400, 365_000 + 1_000, 0},
		{"RoundsDown", 1_000_000, 500, 1540, 1, 0, 0},
		{"FirstWon", 630_720_000_000, 1, 0, 1, 2, 0}, // 630720e6 / 315360e6 = 2 exactly
		{"JustBelowOne", 630_719_999_999, 1, 0, 1, 1, 0},
		{"ZeroRate", 1_000_000, 0, 1540, year, 0, 0},
		// The largest: int64 overflows at P*r*s, the result does not.
		{"TenYearsOfTheMostAtTheMost", ledger.MaxAmount, 10_000, 10_000, 10 * year, 10 * ledger.MaxAmount, 10 * ledger.MaxAmount},
		{"TenYearsAt5", ledger.MaxAmount, 500, 1540, 10 * year, ledger.MaxAmount / 2, ledger.MaxAmount / 2 * 1540 / 10_000},
		{"Odd", 999_999_999_999_999, 777, 1540, 123_456_789, 0, 0}, // checked against math/big below
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := new(big.Int).Mul(big.NewInt(tc.principal), big.NewInt(int64(tc.rate)))
			want.Mul(want, big.NewInt(tc.seconds)).Quo(want, big.NewInt(10_000*year))
			got := ledger.Interest(tc.principal, tc.rate, tc.seconds)
			if !want.IsInt64() || got != want.Int64() {
				t.Fatalf("Interest = %d, math/big says %v", got, want)
			}
			if tc.interest != 0 || tc.tax != 0 {
				if got != tc.interest {
					t.Fatalf("Interest = %d, want %d", got, tc.interest)
				}
				if tax := ledger.Withholding(got, tc.withhold); tax != tc.tax {
					t.Fatalf("Withholding = %d, want %d", tax, tc.tax)
				}
			}
		})
	}
}

func TestPayoutFor(t *testing.T) {
	p := ledger.PayoutFor(1_000_000_000_000, 500, 1540, 60*time.Second+999*time.Millisecond)
	if p.Interest != 95_129 || p.Tax != 14_649 || p.Net() != 1_000_000_000_000+95_129-14_649 {
		t.Fatalf("payout = %+v, net %d", p, p.Net())
	}
	if p := ledger.PayoutFor(1_000, 500, 1540, -time.Second); p.Interest != 0 || p.Net() != 1_000 {
		t.Fatalf("a negative time: %+v", p)
	}
}

func TestPromoTerm(t *testing.T) {
	opens := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	r := ledger.CreatePromoRequest{RequestID: "r-1", PromoID: "P-1", Currency: "KRW", TotalQuota: 1000, MaxPerCustomer: 100,
		AnnualRateBps: 500, OpensAt: opens, ClosesAt: opens.Add(time.Hour)}
	for _, tc := range []struct {
		term time.Duration
		ok   bool
	}{{0, false}, {time.Minute - 1, false}, {time.Minute, true}, {ledger.MaxPromoTerm, true}, {ledger.MaxPromoTerm + 1, false}} {
		r.Term = tc.term
		if err := r.Validate(); (err == nil) != tc.ok {
			t.Errorf("term %v: %v", tc.term, err)
		}
	}
	r.Term, r.MaxPerCustomer, r.TotalQuota, r.AnnualRateBps = ledger.MaxPromoTerm, ledger.MaxAmount, ledger.MaxAmount, 10_000
	if err := r.Validate(); !fieldsOf(err)["max_per_customer"] {
		t.Errorf("a payout over MaxAmount: %v", err)
	}
}
