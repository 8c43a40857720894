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
		dir = filepath.Join(cfg.DataDir, "tls")
	}
	if err := devcert.Ensure(dir, td, listenHost(cfg.Listen)); err != nil {
		return nil, fmt.Errorf("development certificates: %w", err)
	}
	cfg.Logger.Info("mutual TLS with development certificates; ledgerctl finds them with --tls-dir",
		"tls_dir", dir, "trust_domain", td)
	return server.LoadTLS(filepath.Join(dir, devcert.ServerCert), filepath.Join(dir, devcert.ServerKey),
		filepath.Join(dir, devcert.CACert), td)
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
