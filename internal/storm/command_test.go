package storm_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corebanking/ledger/internal/storm"
)

// TestMainUsage runs ledger-storm's command line up to where a storm
// would start: help, and every mistake it refuses before sending load.
func TestMainUsage(t *testing.T) {
	for _, env := range []string{"LEDGER_PLAINTEXT", "LEDGER_TLS_DIR", "LEDGER_TLS_CERT", "LEDGER_TLS_KEY", "LEDGER_TLS_CA"} {
		t.Setenv(env, "")
	}
	noCerts := filepath.Join(t.TempDir(), "none")
	for _, tt := range []struct {
		name   string
		args   []string
		path   string // PATH, if not empty
		code   int
		stdout string // a substring of stdout; "" for none
		stderr string // a substring of stderr
	}{
		{"Help", []string{"-h"}, "", storm.ExitOK, "usage: ledger-storm [flags]", ""},
		{"HelpListsFlags", []string{"--help"}, "", storm.ExitOK, "-outside", ""},
		{"ErrArgs", []string{"now"}, "", storm.ExitUsage, "", `ledger-storm takes no arguments, got ["now"]`},
		{"ErrUnknownFlag", []string{"--bogus"}, "", storm.ExitUsage, "", "flag provided but not defined: -bogus\nrun 'ledger-storm -h'"},
		{"ErrBulkheads", []string{"--bulkheads", "sideways"}, "", storm.ExitUsage, "", `--bulkheads must be both, on or off, not "sideways"`},
		{"ErrOutsideWithoutLedgerd", []string{"--outside"}, noCerts, storm.ExitUsage, "", "--outside needs a ledgerd binary"},
		// OutsideDefaults has no promo database delay: the typed one survives it.
		{"ErrOutsideKeepsTypedFlags", []string{"--outside", "--ledgerd", "ledgerd", "--promo-db-delay", "1s"}, "", storm.ExitFailure, "",
			"the promo database delay applies only to an in-process ledgerd"},
		{"ErrServerDelay", []string{"--server", "127.0.0.1:1", "--promo-db-delay", "1s"}, "", storm.ExitFailure, "",
			"the promo database delay and limits apply only to an in-process ledgerd"},
		// The default delay is dropped for a running server, so the storm
		// dials it: as the operator first, with no certificate to present.
		{"ErrServerCertificates", []string{"--server", "127.0.0.1:1", "--tls-dir", noCerts}, "", storm.ExitUsage, "",
			"cannot read the operator certificate"},
		{"ErrServerCertKeyApart", []string{"--server", "127.0.0.1:1", "--tls-cert", "x.crt"}, "", storm.ExitUsage, "",
			"--tls-cert and --tls-key go together"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path != "" {
				t.Setenv("PATH", tt.path)
			}
			var stdout, stderr bytes.Buffer
			code := storm.Main(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if tt.stdout == "" && stdout.Len() > 0 || !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout does not contain %q:\n%s", tt.stdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.stderr, stderr.String())
			}
		})
	}
}
