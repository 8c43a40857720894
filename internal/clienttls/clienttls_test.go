package clienttls_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corebanking/ledger/internal/clienttls"
	"github.com/corebanking/ledger/internal/devcert"
	"github.com/corebanking/ledger/internal/identity"
)

func TestDialOption(t *testing.T) {
	dev := t.TempDir()
	if err := devcert.Ensure(dev, identity.DefaultTrustDomain, nil); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		flags clienttls.Flags
		err   string // a substring of the error; "" for none
	}{
		{"OK", clienttls.Flags{Dir: dev}, ""},
		{"OKOwnCertificate", clienttls.Flags{Dir: "nowhere", Cert: filepath.Join(dev, "teller.crt"),
			Key: filepath.Join(dev, "teller.key"), CA: filepath.Join(dev, devcert.CACert)}, ""},
		{"OKPlaintext", clienttls.Flags{Plaintext: true, Dir: "nowhere"}, ""},
		{"ErrCertKeyApart", clienttls.Flags{Dir: dev, Cert: filepath.Join(dev, "teller.crt")}, clienttls.ErrCertKeyApart.Error()},
		{"ErrNoCertificates", clienttls.Flags{Dir: filepath.Join(dev, "nowhere")},
			"cannot read the teller certificate: open " + filepath.Join(dev, "nowhere", "teller.crt")},
		{"ErrOwnCertificate", clienttls.Flags{Dir: dev, Cert: "x.crt", Key: "x.key"}, "cannot load --tls-cert x.crt and --tls-key x.key: "},
		{"ErrCANotPEM", clienttls.Flags{Dir: dev, CA: notPEM}, notPEM + " holds no PEM certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opt, err := tt.flags.DialOption(identity.Teller)
			switch {
			case tt.err == "" && (err != nil || opt == nil):
				t.Fatalf("DialOption: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("DialOption: error %v, want one containing %q", err, tt.err)
			}
		})
	}
	keyOnly := clienttls.Flags{Dir: dev, Key: "x.key"}
	if _, err := keyOnly.DialOption(identity.Teller); !errors.Is(err, clienttls.ErrCertKeyApart) {
		t.Errorf("a key without its certificate: %v, want ErrCertKeyApart", err)
	}
}

// The environment sets the defaults, and the flags override them.
func TestFlags(t *testing.T) {
	t.Setenv("LEDGER_TLS_DIR", "env-dir")
	t.Setenv("LEDGER_PLAINTEXT", "true")
	t.Setenv("LEDGER_TLS_CA", "env-ca.crt")
	f := clienttls.FromEnv()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f.Register(fs)
	if err := fs.Parse([]string{"--tls-dir", "flag-dir"}); err != nil {
		t.Fatal(err)
	}
	if want := (clienttls.Flags{Plaintext: true, Dir: "flag-dir", CA: "env-ca.crt"}); f != want {
		t.Errorf("flags %+v, want %+v", f, want)
	}
	t.Setenv("LEDGER_TLS_DIR", "")
	if f := clienttls.FromEnv(); f.Dir != clienttls.DefaultDir {
		t.Errorf("no LEDGER_TLS_DIR: dir %q, want %q", f.Dir, clienttls.DefaultDir)
	}
}
