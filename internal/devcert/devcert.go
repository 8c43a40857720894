// Package devcert makes the certificates a development ledger needs, so
// that mutual TLS is on from the first `make run`: a local CA, a server
// certificate for the loopback names, and one client certificate per role.
// The CA's key sits next to them, which is why these are for development
// only; production brings certificates from the bank's own CA.
package devcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/corebanking/ledger/internal/identity"
)

// File names in a development TLS directory. Client certificates are
// <role>.crt and <role>.key.
const (
	CACert     = "ca.crt"
	CAKey      = "ca.key"
	ServerCert = "server.crt"
	ServerKey  = "server.key"
)

// DevName is the name in each development client certificate: the teller
// certificate is spiffe://<trust-domain>/teller/dev.
const DevName = "dev"

// Lifetimes. A certificate is renewed on start when less than renewBefore
// of it is left.
const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 365 * 24 * time.Hour
	renewBefore  = 30 * 24 * time.Hour
)

// LoopbackHosts are the names every development server certificate covers.
var LoopbackHosts = []string{"localhost", "127.0.0.1", "::1"}

// Ensure makes dir a complete development TLS directory for trustDomain:
// it creates whatever is missing, renews what is about to expire, and
// reissues the server certificate if it does not cover every host in
// hosts. Existing valid files are left alone, so clients keep working
// across restarts.
func Ensure(dir, trustDomain string, hosts []string) error {
	if err := identity.ValidateTrustDomain(trustDomain); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, err := loadOrCreateCA(dir)
	if err != nil {
		return err
	}
	hosts = append(slices.Clone(LoopbackHosts), hosts...)
	if !usable(filepath.Join(dir, ServerCert), ca, func(c *x509.Certificate) bool { return covers(c, hosts) }) {
		if err := ca.issue(dir, "server", serverTemplate(hosts)); err != nil {
			return err
		}
	}
	for _, role := range identity.Roles {
		id := identity.ID{Role: role, Name: DevName}
		want := id.URI(trustDomain).String()
		ok := func(c *x509.Certificate) bool { return len(c.URIs) == 1 && c.URIs[0].String() == want }
		if !usable(filepath.Join(dir, string(role)+".crt"), ca, ok) {
			if err := ca.issue(dir, string(role), clientTemplate(id, trustDomain)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Issue writes <outDir>/<name>.crt and .key: a client certificate for id
// signed by the CA in dir.
func Issue(dir, trustDomain string, id identity.ID, outDir string) (certPath string, err error) {
	if err := identity.ValidateTrustDomain(trustDomain); err != nil {
		return "", err
	}
	if !id.Role.Valid() {
		return "", fmt.Errorf("unknown role %q", id.Role)
	}
	if err := identity.ValidateName(id.Name); err != nil {
		return "", err
	}
	ca, err := loadCA(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return "", err
	}
	base := string(id.Role) + "-" + id.Name
	return filepath.Join(outDir, base+".crt"), ca.issue(outDir, base, clientTemplate(id, trustDomain))
}

type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func loadOrCreateCA(dir string) (*authority, error) {
	ca, err := loadCA(dir)
	if err == nil && time.Until(ca.cert.NotAfter) > renewBefore {
		return ca, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "ledger development CA", Organization: []string{"ledger development"}},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
	}
	if err := stamp(tmpl, caLifetime); err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	if err := writePair(dir, "ca", der, key); err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return &authority{cert: cert, key: key}, err
}

func loadCA(dir string) (*authority, error) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, CACert), filepath.Join(dir, CAKey))
	if err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, CACert)); errors.Is(statErr, os.ErrNotExist) {
			return nil, fmt.Errorf("no development CA in %s: %w", dir, os.ErrNotExist)
		}
		return nil, fmt.Errorf("development CA in %s: %w", dir, err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("development CA key in %s is not ECDSA", dir)
	}
	return &authority{cert: pair.Leaf, key: key}, nil
}

// issue signs tmpl with a new key and writes <dir>/<base>.crt and .key.
func (ca *authority) issue(dir, base string, tmpl *x509.Certificate) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	if err := stamp(tmpl, leafLifetime); err != nil {
		return err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return err
	}
	return writePair(dir, base, der, key)
}

func serverTemplate(hosts []string) *x509.Certificate {
	t := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "ledgerd"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			t.IPAddresses = append(t.IPAddresses, ip)
		} else if h != "" {
			t.DNSNames = append(t.DNSNames, h)
		}
	}
	return t
}

func clientTemplate(id identity.ID, trustDomain string) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: id.String()},
		URIs:        []*url.URL{id.URI(trustDomain)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// stamp gives tmpl a random serial and a validity from a minute ago, for
// clocks slightly apart, to lifetime from now.
func stamp(tmpl *x509.Certificate, lifetime time.Duration) error {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Minute)
	tmpl.NotAfter = time.Now().Add(lifetime)
	return nil
}

// usable reports whether the certificate at path was signed by ca, is not
// about to expire, and passes ok.
func usable(path string, ca *authority, ok func(*x509.Certificate) bool) bool {
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return false
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil || c.CheckSignatureFrom(ca.cert) != nil || time.Until(c.NotAfter) < renewBefore {
		return false
	}
	return ok(c)
}

func covers(c *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if h != "" && c.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// writePair writes the certificate (0644) and its key (0600), each through
// a temporary file, so that a crash never leaves half a key.
func writePair(dir, base string, der []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, base+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, base+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
