// Package clienttls is how the ledger's command-line tools (ledgerctl and
// ledger-storm) prove who they are to ledgerd: the flags and environment
// that choose a client certificate, and the gRPC transport credentials
// those make. It knows nothing of the ledger's services.
package clienttls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/corebanking/ledger/internal/devcert"
	"github.com/corebanking/ledger/internal/identity"
)

// DefaultDir is where the tools look for certificates unless --tls-dir or
// LEDGER_TLS_DIR says otherwise: where `make run` has ledgerd make them,
// beside its ledger-data.
const DefaultDir = "ledger-data-tls"

// ErrCertKeyApart is a certificate of one's own without its key, or the
// reverse: a mistake on the command line.
var ErrCertKeyApart = errors.New("--tls-cert and --tls-key go together")

// Flags choose how a tool connects: mutual TLS with a certificate per role
// from Dir, or with a certificate of one's own, or plaintext.
type Flags struct {
	Plaintext bool
	Dir       string // development certificates: ca.crt, <role>.crt, <role>.key
	Cert, Key string // a certificate of one's own, instead of Dir's
	CA        string // the CA that signs the server's certificate, instead of Dir's
}

// FromEnv returns the flags' defaults: DefaultDir, and whatever
// LEDGER_PLAINTEXT, LEDGER_TLS_DIR, LEDGER_TLS_CERT, LEDGER_TLS_KEY and
// LEDGER_TLS_CA say.
func FromEnv() Flags {
	f := Flags{Dir: DefaultDir, Plaintext: os.Getenv("LEDGER_PLAINTEXT") == "true",
		Cert: os.Getenv("LEDGER_TLS_CERT"), Key: os.Getenv("LEDGER_TLS_KEY"), CA: os.Getenv("LEDGER_TLS_CA")}
	if v := os.Getenv("LEDGER_TLS_DIR"); v != "" {
		f.Dir = v
	}
	return f
}

// Register defines --plaintext, --tls-dir, --tls-cert, --tls-key and
// --tls-ca on fs, with f's values as their defaults.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.BoolVar(&f.Plaintext, "plaintext", f.Plaintext, "connect without TLS, to a ledgerd started with --plaintext (env LEDGER_PLAINTEXT=true)")
	fs.StringVar(&f.Dir, "tls-dir", f.Dir, "`directory` of the development CA and one certificate per role (env LEDGER_TLS_DIR)")
	fs.StringVar(&f.Cert, "tls-cert", f.Cert, "PEM `file` of your client certificate, instead of --tls-dir's (env LEDGER_TLS_CERT)")
	fs.StringVar(&f.Key, "tls-key", f.Key, "PEM `file` of your client certificate's key (env LEDGER_TLS_KEY)")
	fs.StringVar(&f.CA, "tls-ca", f.CA, "PEM `file` of the CA of the server's certificate, instead of --tls-dir's ca.crt (env LEDGER_TLS_CA)")
}

// DialOption returns the transport credentials of role: mutual TLS, TLS
// 1.3 only, with role's certificate from Dir or with Cert and Key, unless
// Plaintext. It returns ErrCertKeyApart, or an error that says which file
// could not be read and what to do about it.
func (f *Flags) DialOption(role identity.Role) (grpc.DialOption, error) {
	if f.Plaintext {
		return grpc.WithTransportCredentials(insecure.NewCredentials()), nil
	}
	if (f.Cert == "") != (f.Key == "") {
		return nil, ErrCertKeyApart
	}
	cert, key, ca := f.Cert, f.Key, f.CA
	if cert == "" {
		cert, key = filepath.Join(f.Dir, string(role)+".crt"), filepath.Join(f.Dir, string(role)+".key")
	}
	if ca == "" {
		ca = filepath.Join(f.Dir, devcert.CACert)
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil && f.Cert != "" {
		return nil, fmt.Errorf("cannot load --tls-cert %s and --tls-key %s: %v", f.Cert, f.Key, err)
	} else if err != nil {
		return nil, Missing(err, "the "+string(role)+" certificate")
	}
	caPEM, err := os.ReadFile(ca)
	if err != nil {
		return nil, Missing(err, "the CA certificate")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s holds no PEM certificate", ca)
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pair}, RootCAs: pool,
	})), nil
}

// Missing explains err, met reading what (for example "the CA
// certificate") from a TLS directory: a missing file most likely means no
// ledgerd has made the development certificates there.
func Missing(err error, what string) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cannot read %s: %v\n"+
			"  ledgerd makes development certificates in <data-dir>-tls on its first start; point --tls-dir there,\n"+
			"  or pass --tls-cert, --tls-key and --tls-ca, or --plaintext for a ledgerd started with --plaintext", what, err)
	}
	return fmt.Errorf("cannot load %s: %v", what, err)
}
