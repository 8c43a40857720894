package devcert_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"github.com/corebanking/ledger/internal/devcert"
	"github.com/corebanking/ledger/internal/identity"
)

// verify loads <dir>/<base>.crt and .key and checks the certificate chains
// to the CA in caDir for usage.
func verify(tb testing.TB, caDir, dir, base string, usage x509.ExtKeyUsage) *x509.Certificate {
	tb.Helper()
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, base+".crt"), filepath.Join(dir, base+".key"))
	if err != nil {
		tb.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(caDir, devcert.CACert))
	if err != nil {
		tb.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		tb.Fatalf("%s does not verify for %v: %v", base, usage, err)
	}
	return pair.Leaf
}

func TestEnsure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	if err := devcert.Ensure(dir, "bank.example", nil); err != nil {
		t.Fatal(err)
	}
	server := verify(t, dir, dir, "server", x509.ExtKeyUsageServerAuth)
	for _, h := range devcert.LoopbackHosts {
		if err := server.VerifyHostname(h); err != nil {
			t.Errorf("server certificate: %v", err)
		}
	}
	for _, role := range identity.Roles {
		c := verify(t, dir, dir, string(role), x509.ExtKeyUsageClientAuth)
		id, err := identity.FromCertificate(c, "bank.example")
		if err != nil || id != (identity.ID{Role: role, Name: devcert.DevName}) {
			t.Errorf("%s certificate names %v, %v", role, id, err)
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: x509.NewCertPool()}); err == nil {
			t.Errorf("%s verifies without its CA", role)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, _ := e.Info()
		if filepath.Ext(e.Name()) == ".key" && info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
	}
	if info, _ := os.Stat(dir); info.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", info.Mode().Perm())
	}

	t.Run("KeepsValidFiles", func(t *testing.T) {
		before := read(t, dir, "ca.crt", "teller.crt", "server.crt")
		if err := devcert.Ensure(dir, "bank.example", []string{"127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
		if after := read(t, dir, "ca.crt", "teller.crt", "server.crt"); !bytes.Equal(before, after) {
			t.Error("a second Ensure changed valid files")
		}
	})
	t.Run("ReissuesServerForNewHost", func(t *testing.T) {
		ca, teller := read(t, dir, "ca.crt"), read(t, dir, "teller.crt")
		if err := devcert.Ensure(dir, "bank.example", []string{"ledger.test"}); err != nil {
			t.Fatal(err)
		}
		if err := verify(t, dir, dir, "server", x509.ExtKeyUsageServerAuth).VerifyHostname("ledger.test"); err != nil {
			t.Error(err)
		}
		if !bytes.Equal(ca, read(t, dir, "ca.crt")) || !bytes.Equal(teller, read(t, dir, "teller.crt")) {
			t.Error("a new host changed the CA or a client certificate")
		}
	})
	t.Run("ReissuesClientsForNewTrustDomain", func(t *testing.T) {
		if err := devcert.Ensure(dir, "other.example", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := identity.FromCertificate(verify(t, dir, dir, "teller", x509.ExtKeyUsageClientAuth), "other.example"); err != nil {
			t.Error(err)
		}
	})
	t.Run("Issue", func(t *testing.T) {
		out := t.TempDir()
		path, err := devcert.Issue(dir, "other.example", identity.ID{Role: identity.Channel, Name: "atm-switch"}, out)
		if err != nil {
			t.Fatal(err)
		}
		if path != filepath.Join(out, "channel-atm-switch.crt") {
			t.Errorf("path = %s", path)
		}
		c := verify(t, dir, out, "channel-atm-switch", x509.ExtKeyUsageClientAuth)
		if id, err := identity.FromCertificate(c, "other.example"); err != nil || id.Actor() != "channel/atm-switch" {
			t.Errorf("issued %v, %v", id, err)
		}
	})
	t.Run("ErrIssue", func(t *testing.T) {
		for _, id := range []identity.ID{{Role: "admin", Name: "x"}, {Role: identity.Channel, Name: "ATM switch"}} {
			if _, err := devcert.Issue(dir, "other.example", id, t.TempDir()); err == nil {
				t.Errorf("issued %v", id)
			}
		}
		if _, err := devcert.Issue(t.TempDir(), "other.example", identity.ID{Role: identity.Channel, Name: "x"}, t.TempDir()); err == nil {
			t.Error("issued without a CA")
		}
	})
}

func read(tb testing.TB, dir string, names ...string) []byte {
	tb.Helper()
	var all []byte
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			tb.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}
