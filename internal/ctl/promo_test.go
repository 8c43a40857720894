package ctl_test

import (
	"encoding/json"
	"testing"
)

// A promotion's life through ledgerctl: create one with a term, subscribe,
// see the subscription listed, cancel it, see it cancelled with its
// interest and tax.
func TestPromoLifecycle(t *testing.T) {
	addr := MustStartServer(t)
	mustRun(t, addr, "account", "open", "--customer", "C-1", "--currency", "KRW", "--id", "A-1")
	mustRun(t, addr, "deposit", "A-1", "2000000000000", "KRW")
	out := mustRun(t, addr, "promo", "create", "P-1", "--currency", "KRW", "--quota", "1000000000000",
		"--max-per-customer", "1000000000000", "--rate-bps", "500", "--early-rate-bps", "100", "--closes", "24h", "--term", "8760h")
	mustContain(t, out, `^promo created: P-1`, `early rate\s+1\.00% a year, on cancellation`, `withholding\s+15\.40% of interest`,
		`term\s+8760h0m0s`)
	mustRun(t, addr, "promo", "subscribe", "P-1", "C-1", "A-1", "1000000000000")
	mustContain(t, mustRun(t, addr, "promo", "show", "P-1"), `^promo P-1: SOLD OUT\n`, `\n1 subscriptions\n`,
		`CUSTOMER\s+STATUS\s+AMOUNT\s+MATURES\s+INTEREST\s+TAX\s+PAID\s+CLOSED\n`, `C-1\s+active\s+1000000000000 KRW\s+\S+ \S+ \S+\s+0 KRW\s+0 KRW\s+-\s+-\n`)

	out = mustRun(t, addr, "promo", "cancel", "P-1", "C-1", "--request-id", "cancel-1")
	mustContain(t, out, `^cancelled: \d+ KRW paid back to A-1 \(entry \S+, request cancel-1\)\n`, `principal\s+1000000000000 KRW`,
		`interest\s+\d+ KRW`, `sys:promo:\S+\s+-1000000000000 KRW`, `A-1\s+\+\d+ KRW`)
	if replay := mustRun(t, addr, "promo", "cancel", "P-1", "C-1", "--request-id", "cancel-1"); replay != out {
		t.Errorf("replay printed\n%s\nwant\n%s", replay, out)
	}
	r := ledgerctl(t, addr, "promo", "cancel", "P-1", "C-1")
	mustContain(t, r.stderr, `\(SUBSCRIPTION_CANCELLED\)`)
	mustContain(t, mustRun(t, addr, "promo", "show", "P-1"), `C-1\s+cancelled\s+1000000000000 KRW\s+`, `^promo P-1: SOLD OUT\n`)

	var shown struct {
		Promo         struct{ PromoID string }
		Subscriptions []struct{ Status, Interest string }
	}
	if err := json.Unmarshal([]byte(mustRun(t, addr, "--json", "promo", "show", "P-1")), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Promo.PromoID != "P-1" || len(shown.Subscriptions) != 1 || shown.Subscriptions[0].Status != "SUBSCRIPTION_STATUS_CANCELLED" {
		t.Fatalf("--json promo show = %+v", shown)
	}
}
