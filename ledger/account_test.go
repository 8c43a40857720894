package ledger_test

import (
	"testing"

	"github.com/corebanking/ledger/ledger"
)

func TestSystemAccount(t *testing.T) {
	for _, c := range []struct {
		id       string
		kind     ledger.SystemKind
		currency string
		opened   bool // by a posting in KRW
	}{
		{ledger.VaultAccountID("KRW"), ledger.SystemVault, "KRW", true},
		{ledger.SettlementAccountID("KRW"), ledger.SystemSettlement, "KRW", true},
		{ledger.ATMAccountID("atm-7", "KRW"), ledger.SystemATM, "KRW", true},
		{ledger.ATMAccountID("atm:7", "KRW"), ledger.SystemATM, "KRW", true},
		{ledger.VaultAccountID("USD"), ledger.SystemVault, "USD", false},
		{ledger.PromoAccountID("5b1c"), ledger.SystemPromo, "", false},
		{"sys:other:KRW", ledger.NotSystem, "", false},
		{"alice", ledger.NotSystem, "", false},
	} {
		kind, cur := ledger.SystemAccount(c.id)
		if kind != c.kind || cur != c.currency {
			t.Errorf("SystemAccount(%q) = %v, %q; want %v, %q", c.id, kind, cur, c.kind, c.currency)
		}
		if got := ledger.OpenedOnUse(ledger.Posting{AccountID: c.id, Currency: "KRW", Amount: 1}); got != c.opened {
			t.Errorf("OpenedOnUse(%q in KRW) = %v", c.id, got)
		}
	}
}
