package ctl_test

import (
	"strings"
	"testing"

	"github.com/corebanking/ledger/internal/ctl"
)

// unreachable is an address where nothing listens.
const unreachable = "127.0.0.1:1"

func TestUsage(t *testing.T) {
	for _, tt := range []struct {
		name   string
		args   []string
		code   int
		stdout string // a substring of stdout; "" for none
		stderr string // a substring of stderr
	}{
		{"Help", []string{"help"}, ctl.ExitOK, "hold capture", ""},
		{"HelpFlag", []string{"-h"}, ctl.ExitOK, "minor units", ""},
		{"HelpCommand", []string{"help", "hold", "place"}, ctl.ExitOK, "--ttl", ""},
		{"CommandHelpFlag", []string{"deposit", "-h"}, ctl.ExitOK, "usage: ledgerctl deposit ACCOUNT_ID AMOUNT CURRENCY", ""},
		{"ErrNoCommand", nil, ctl.ExitUsage, "", "no command given"},
		{"ErrUnknownCommand", []string{"refund"}, ctl.ExitUsage, "", `unknown command "refund"`},
		{"ErrGroupWithoutSubcommand", []string{"hold"}, ctl.ExitUsage, "", "hold needs one of: place, capture, void"},
		{"ErrArgCount", []string{"balance"}, ctl.ExitUsage, "", "balance takes 1 argument, got 0"},
		{"ErrDecimalAmount", []string{"deposit", "A-1", "12.50", "usd"}, ctl.ExitUsage, "", "(1250 is 12.50 USD)"},
		{"ErrUnknownFlag", []string{"balance", "A-1", "--bogus"}, ctl.ExitUsage, "", "flag provided but not defined: -bogus"},
		{"ErrFlagValueMissing", []string{"deposit", "A-1", "5", "KRW", "--memo"}, ctl.ExitUsage, "", "flag needs an argument: -memo"},
		{"ErrLang", []string{"--lang", "fr", "balance", "A-1"}, ctl.ExitUsage, "", "--lang must be en or ko"},
		{"ErrWithdrawWithoutATM", []string{"withdraw", "A-1", "5000", "KRW"}, ctl.ExitUsage, "", "--atm is required"},
		{"ErrKind", []string{"account", "open", "--currency", "KRW", "--kind", "bank"}, ctl.ExitUsage, "", "usage: ledgerctl account open"},
		{"ErrPromoDecimalAmount", []string{"promo", "subscribe", "P-1", "C-1", "A-1", "12.50"}, ctl.ExitUsage, "",
			"is not a whole number of minor units"},
		{"ErrPromoWithoutQuota", []string{"promo", "create", "P-1", "--currency", "KRW", "--max-per-customer", "5000",
			"--rate-bps", "500", "--closes", "24h"}, ctl.ExitUsage, "", "--quota is required"},
		{"ErrPromoCloses", []string{"promo", "create", "P-1", "--currency", "KRW", "--quota", "50000", "--max-per-customer", "5000",
			"--rate-bps", "500", "--closes", "tomorrow", "--term", "1h"}, ctl.ExitUsage, "", `--closes "tomorrow" is neither`},
		{"ErrJournalCheckpoint", []string{"journal", "verify", "--checkpoint", "seven"}, ctl.ExitUsage, "", "is not SEQUENCE:HASH"},
		{"ErrJournalFrom", []string{"journal", "verify", "--from", "7:ab"}, ctl.ExitUsage, "", "--from is removed"},
		{"ErrJournalWitnessOnServer", []string{"journal", "verify", "--on-server", "--witness", "w"}, ctl.ExitUsage, "", "--on-server checks on the server"},
		{"ErrJournalKeygenName", []string{"journal", "keygen"}, ctl.ExitUsage, "", "--name is required"},
		{"ErrAccountStatus", []string{"account", "status", "A-1", "asleep", "--reason", "x"}, ctl.ExitUsage, "", "must be active, frozen or closed"},
		{"ErrAccountStatusReason", []string{"account", "status", "A-1", "frozen"}, ctl.ExitUsage, "", "--reason is required"},
		{"ErrJournalAfter", []string{"journal", "export", "--after", "-2"}, ctl.ExitUsage, "", "--after must not be negative"},
		{"ErrUnreachable", []string{"--timeout", "5s", "balance", "A-1"}, ctl.ExitFailure, "", "(UNAVAILABLE)"},
		{"ErrUnreachableOutcomeUnknown", []string{"deposit", "A-1", "5000", "KRW", "--request-id", "r-1"}, ctl.ExitFailure, "",
			"replay with --request-id r-1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ledgerctl(t, unreachable, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d", r.code, tt.code)
			}
			if tt.stdout == "" && r.stdout != "" || !strings.Contains(r.stdout, tt.stdout) {
				t.Errorf("stdout does not contain %q:\n%s", tt.stdout, r.stdout)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.stderr, r.stderr)
			}
		})
	}
}
