package ledgerd

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"

	"github.com/corebanking/ledger/internal/devcert"
	"github.com/corebanking/ledger/internal/identity"
	"github.com/corebanking/ledger/internal/server"
)

// transport decides how the server is reached: plaintext when asked,
// mutual TLS from the given files in production, or else mutual TLS with
// development certificates made in TLSDir on first start.
func (cfg Config) transport() (*server.TLSConfig, error) {
	files := cfg.TLSCert != "" || cfg.TLSKey != "" || cfg.TLSClientCA != ""
	switch {
	case cfg.Plaintext && files:
		return nil, errors.New("plaintext and TLS certificate files exclude each other")
	case cfg.Plaintext && !maybeLoopback(cfg.Listen):
		// The server checks the address it binds; this only fails before
		// the database is started for nothing.
		return nil, fmt.Errorf("plaintext is refused on %s: it is for development on this machine only", cfg.Listen)
	case cfg.Plaintext:
		return nil, nil
	case files:
		return productionTLS(cfg)
	}
	td := cfg.TrustDomain
	if td == "" {
		td = identity.DefaultTrustDomain
	}
	dir := cfg.TLSDir
	if dir == "" {
		dir = DefaultTLSDir(cfg.DataDir)
	}
	if err := devcert.Ensure(dir, td, listenHost(cfg.Listen)); err != nil {
		return nil, fmt.Errorf("development certificates: %w", err)
	}
	cfg.Logger.Info("mutual TLS with development certificates; ledgerctl finds them with --tls-dir",
		"tls_dir", dir, "trust_domain", td)
	return server.LoadTLS(filepath.Join(dir, devcert.ServerCert), filepath.Join(dir, devcert.ServerKey),
		filepath.Join(dir, devcert.CACert), td)
}

// DefaultTLSDir is where development certificates live for a data
// directory: beside it, not in it, as the data directory is the embedded
// PostgreSQL's own and belongs to its user.
func DefaultTLSDir(dataDir string) string {
	return filepath.Clean(dataDir) + "-tls"
}

func productionTLS(cfg Config) (*server.TLSConfig, error) {
	if cfg.TLSCert == "" || cfg.TLSKey == "" || cfg.TLSClientCA == "" {
		return nil, errors.New("TLS needs all of the certificate, its key and the client CA file")
	}
	if cfg.TrustDomain == "" {
		return nil, errors.New("TLS with certificate files needs the trust domain of the callers' SPIFFE IDs")
	}
	return server.LoadTLS(cfg.TLSCert, cfg.TLSKey, cfg.TLSClientCA, cfg.TrustDomain)
}

// maybeLoopback reports whether listen may be a loopback address: a
// loopback IP or a name (which the server checks once bound).
func maybeLoopback(listen string) bool {
	if listen == "" {
		return true // the server's default, 127.0.0.1:7070
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil || host == "" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || ip.IsLoopback()
}

// listenHost is the host the development server certificate must name
// besides the loopback names: none for a wildcard listener.
func listenHost(listen string) []string {
	host, _, err := net.SplitHostPort(listen)
	if err != nil || host == "" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return nil
	}
	return []string{host}
}
