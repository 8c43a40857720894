package ctl

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/corebanking/ledger/internal/devcert"
	"github.com/corebanking/ledger/internal/identity"
)

// DefaultTLSDir is where ledgerctl looks for certificates unless --tls-dir
// or LEDGER_TLS_DIR says otherwise: where `make run` has ledgerd make them,
// beside its ledger-data.
const DefaultTLSDir = "ledger-data-tls"

// security is how ledgerctl proves who it is to the ledger.
type security struct {
	plaintext bool
	dir       string // development certificates: ca.crt, <role>.crt, <role>.key
	role      string // whose certificate in dir; each command has a default
	cert, key string // a certificate of one's own, instead of dir's
	ca        string // the CA that signs the server's certificate, instead of dir's
}

func (s *security) register(fs *flag.FlagSet) {
	fs.BoolVar(&s.plaintext, "plaintext", s.plaintext, "connect without TLS, to a ledgerd started with --plaintext (env LEDGER_PLAINTEXT=true)")
	fs.StringVar(&s.dir, "tls-dir", s.dir, "`directory` of the development CA and one certificate per role (env LEDGER_TLS_DIR)")
	fs.StringVar(&s.role, "role", s.role, "act as `role` (channel|teller|auditor|operator): use its certificate from --tls-dir (default: the command's own)")
	fs.StringVar(&s.cert, "tls-cert", s.cert, "PEM `file` of your client certificate, instead of --tls-dir's (env LEDGER_TLS_CERT)")
	fs.StringVar(&s.key, "tls-key", s.key, "PEM `file` of your client certificate's key (env LEDGER_TLS_KEY)")
	fs.StringVar(&s.ca, "tls-ca", s.ca, "PEM `file` of the CA of the server's certificate, instead of --tls-dir's ca.crt (env LEDGER_TLS_CA)")
}

func securityFromEnv() security {
	s := security{dir: DefaultTLSDir, plaintext: os.Getenv("LEDGER_PLAINTEXT") == "true",
		cert: os.Getenv("LEDGER_TLS_CERT"), key: os.Getenv("LEDGER_TLS_KEY"), ca: os.Getenv("LEDGER_TLS_CA")}
	if v := os.Getenv("LEDGER_TLS_DIR"); v != "" {
		s.dir = v
	}
	return s
}

// setupError is a problem on this machine, such as a missing certificate:
// nothing was sent, and the program exits with ExitUsage.
type setupError struct{ msg string }

func (e *setupError) Error() string { return e.msg }

// commandRoles is the role each command acts as unless --role says
// otherwise: the least the server's permission table lets do its work.
var commandRoles = map[string]identity.Role{
	"account open": identity.Teller, "account show": identity.Teller, "balance": identity.Teller,
	"statement": identity.Teller, "deposit": identity.Teller, "withdraw": identity.Teller,
	"transfer": identity.Channel, "hold place": identity.Channel, "hold capture": identity.Channel,
	"hold void": identity.Channel, "promo subscribe": identity.Channel, "promo cancel": identity.Channel,
	"entry post": identity.Channel, "entry reverse": identity.Channel, "batch": identity.Channel,
	"promo create": identity.Operator, "promo show": identity.Operator, "compartments": identity.Operator,
	"journal tail": identity.Auditor, "journal export": identity.Auditor, "journal verify": identity.Auditor,
	"journal prove": identity.Auditor, "account status": identity.Operator,
}

// roleOf is the role a command acts as: --role, or the command's default.
func (s *security) roleOf(cmd *command) (identity.Role, error) {
	r := identity.Role(s.role)
	if s.role == "" {
		r = commandRoles[cmd.name]
	}
	if r == "" {
		return "", usagef(cmd, "%s has no default role: pass --role", cmd.name)
	}
	if !r.Valid() {
		return "", usagef(cmd, "--role must be one of channel, teller, auditor, operator, not %q", s.role)
	}
	return r, nil
}

// dialOption returns the transport credentials of role: mutual TLS, TLS 1.3
// only, unless --plaintext.
func (s *security) dialOption(role identity.Role) (grpc.DialOption, error) {
	if s.plaintext {
		return grpc.WithTransportCredentials(insecure.NewCredentials()), nil
	}
	if (s.cert == "") != (s.key == "") {
		return nil, usagef(nil, "--tls-cert and --tls-key go together")
	}
	cert, key, ca := s.cert, s.key, s.ca
	if cert == "" {
		cert, key = filepath.Join(s.dir, string(role)+".crt"), filepath.Join(s.dir, string(role)+".key")
	}
	if ca == "" {
		ca = filepath.Join(s.dir, devcert.CACert)
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil && s.cert != "" {
		return nil, &setupError{fmt.Sprintf("cannot load --tls-cert %s and --tls-key %s: %v", s.cert, s.key, err)}
	} else if err != nil {
		return nil, s.missing(err, "the "+string(role)+" certificate")
	}
	caPEM, err := os.ReadFile(ca)
	if err != nil {
		return nil, s.missing(err, "the CA certificate")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, &setupError{fmt.Sprintf("%s holds no PEM certificate", ca)}
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pair}, RootCAs: pool,
	})), nil
}

func (s *security) missing(err error, what string) error {
	if errors.Is(err, os.ErrNotExist) {
		return &setupError{fmt.Sprintf("cannot read %s: %v\n"+
			"  ledgerd makes development certificates in <data-dir>-tls on its first start; point --tls-dir there,\n"+
			"  or pass --tls-cert, --tls-key and --tls-ca, or --plaintext for a ledgerd started with --plaintext", what, err)}
	}
	return &setupError{fmt.Sprintf("cannot load %s: %v", what, err)}
}

// handshakeFailure reports whether a transport error says the TLS
// handshake failed, in words the teller can act on.
func handshakeFailure(msg string) bool {
	for _, s := range []string{"tls:", "x509:", "handshake"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
