package ctl_test

import (
	"path/filepath"
	"testing"

	"github.com/corebanking/ledger/internal/ctl"
)

// Each command acts as its role; --role picks another certificate, and
// the server refuses a role the command is not for.
func TestRoles(t *testing.T) {
	srv := MustStartServer(t)
	mustRun(t, srv, "account", "open", "--customer", "C-1", "--currency", "KRW", "--id", "A-1")
	mustRun(t, srv, "account", "open", "--customer", "C-2", "--currency", "KRW", "--id", "B-1")
	mustRun(t, srv, "deposit", "A-1", "50000", "KRW")

	t.Run("ErrPermissionDenied", func(t *testing.T) {
		r := ledgerctl(t, srv, "--role", "auditor", "deposit", "A-1", "5000", "KRW")
		if r.code != ctl.ExitFailure {
			t.Fatalf("exit %d, want %d", r.code, ctl.ExitFailure)
		}
		mustContain(t, r.stderr, `^error: The calling system is not allowed to do this\. \(PERMISSION_DENIED\)\n`,
			`ran as role auditor; another role's certificate may be allowed \(--role\)`)
		mustBalance(t, srv, "A-1", "50000", "0", "50000")
	})
	t.Run("RoleOverride", func(t *testing.T) {
		mustContain(t, mustRun(t, srv, "--role", "auditor", "balance", "A-1"), `available\s+50000 KRW`)
	})
	t.Run("ErrUnknownRole", func(t *testing.T) {
		if r := ledgerctl(t, srv, "--role", "admin", "balance", "A-1"); r.code != ctl.ExitUsage {
			t.Fatalf("exit %d, want %d: %s", r.code, ctl.ExitUsage, r.stderr)
		}
	})
	t.Run("CertIssue", func(t *testing.T) {
		out := t.TempDir()
		res := mustRun(t, srv, "cert", "issue", "--role", "channel", "--name", "atm-switch", "--out", out)
		mustContain(t, res, `^issued channel/atm-switch \(spiffe://ledger\.local/channel/atm-switch\)\n`)
		own := []string{"--tls-cert", filepath.Join(out, "channel-atm-switch.crt"),
			"--tls-key", filepath.Join(out, "channel-atm-switch.key"), "--tls-ca", filepath.Join(tlsDirOf(t, srv), "ca.crt")}
		mustContain(t, mustRun(t, srv, append(own, "transfer", "A-1", "B-1", "700", "KRW")...), `B-1\s+\+700 KRW`)
		r := ledgerctl(t, srv, append(own, "promo", "create", "P-1", "--currency", "KRW", "--quota", "50000",
			"--max-per-customer", "5000", "--rate-bps", "500", "--closes", "24h", "--term", "1h")...)
		mustContain(t, r.stderr, `\(PERMISSION_DENIED\)\n  the role in your certificate \(--tls-cert\) may not do this`)
	})
	t.Run("ErrCertIssue", func(t *testing.T) {
		for _, args := range [][]string{
			{"cert", "issue", "--name", "x"},
			{"cert", "issue", "--role", "root", "--name", "x"},
			{"cert", "issue", "--role", "channel"},
			{"cert", "issue", "--role", "channel", "--name", "ATM Switch"},
			{"--tls-dir", t.TempDir(), "cert", "issue", "--role", "channel", "--name", "x"},
		} {
			if r := ledgerctl(t, srv, args...); r.code != ctl.ExitUsage {
				t.Errorf("%v: exit %d, want %d: %s", args, r.code, ctl.ExitUsage, r.stderr)
			}
		}
	})
	t.Run("ErrOtherCA", func(t *testing.T) {
		r := ledgerctl(t, srv, "--tls-dir", tlsDirOf(t, unreachable), "--timeout", "5s", "balance", "A-1")
		if r.code != ctl.ExitFailure {
			t.Fatalf("exit %d, want %d", r.code, ctl.ExitFailure)
		}
		mustContain(t, r.stderr, `^error: the TLS handshake with the ledger at \S+ failed`)
	})
}
