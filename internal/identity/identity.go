// Package identity is who a caller of the ledger is: a role and a name,
// carried in the caller's X.509 certificate as one SPIFFE ID,
//
//	spiffe://<trust-domain>/<role>/<name>
//
// for example spiffe://bank.example/channel/atm-switch. The server reads it
// from a certificate the TLS handshake has already verified; this package
// only parses, it trusts nothing by itself.
package identity

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/corebanking/ledger/ledger"
)

// Role is what a caller is allowed to do, as the server's permission table
// says.
type Role string

// The roles. Channels are the bank's own services that customers reach
// (mobile banking backend, ATM switch, promotion page); tellers work at a
// branch; auditors read; operators run the ledger.
const (
	Channel  Role = "channel"
	Teller   Role = "teller"
	Auditor  Role = "auditor"
	Operator Role = "operator"
)

// Roles lists every role, in a fixed order.
var Roles = []Role{Channel, Teller, Auditor, Operator}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	switch r {
	case Channel, Teller, Auditor, Operator:
		return true
	}
	return false
}

// DefaultTrustDomain is the trust domain of the development certificates.
const DefaultTrustDomain = "ledger.local"

// MaxNameLength bounds a caller's name, so that role/name fits the
// journal's actor column with room to spare.
const MaxNameLength = 64

var (
	// Lower case only, so that one caller has one spelling in the journal.
	namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	// A trust domain is a DNS-like name (the SPIFFE rules, lower case).
	trustDomainPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$`)
)

// ID is a verified caller: its role and its name.
type ID struct {
	Role Role
	Name string
}

// String is "role/name".
func (id ID) String() string { return string(id.Role) + "/" + id.Name }

// Actor is the caller as the journal records it.
func (id ID) Actor() ledger.Actor { return ledger.Actor(id.String()) }

// URI is the SPIFFE ID of id in trustDomain, for a certificate's URI SAN.
func (id ID) URI(trustDomain string) *url.URL {
	return &url.URL{Scheme: "spiffe", Host: trustDomain, Path: "/" + string(id.Role) + "/" + id.Name}
}

// Errors of Parse and FromCertificate. The server logs them and tells the
// caller only that it is not authenticated.
var (
	ErrNoURI          = errors.New("certificate has no URI SAN")
	ErrManyURIs       = errors.New("certificate has more than one URI SAN")
	ErrNotSPIFFE      = errors.New("URI SAN is not a spiffe:// ID")
	ErrTrustDomain    = errors.New("SPIFFE ID is of another trust domain")
	ErrPath           = errors.New("SPIFFE ID path is not /<role>/<name>")
	ErrUnknownRole    = errors.New("SPIFFE ID names an unknown role")
	ErrInvalidName    = errors.New("SPIFFE ID has an invalid name")
	ErrBadTrustDomain = errors.New("invalid trust domain")
)

// ValidateTrustDomain reports whether td can be a trust domain.
func ValidateTrustDomain(td string) error {
	if len(td) == 0 || len(td) > 255 || !trustDomainPattern.MatchString(td) {
		return fmt.Errorf("%w %q: want a lower-case DNS-like name such as bank.example", ErrBadTrustDomain, td)
	}
	return nil
}

// ValidateName reports whether name can be a caller's name.
func ValidateName(name string) error {
	if len(name) == 0 || len(name) > MaxNameLength || !namePattern.MatchString(name) {
		return fmt.Errorf("%w %q: want at most %d of a-z, 0-9, '.', '_', '-', starting with a letter or digit",
			ErrInvalidName, name, MaxNameLength)
	}
	return nil
}

// Parse reads a SPIFFE ID of trustDomain: spiffe://<trustDomain>/<role>/<name>,
// with nothing else (no port, user, query or fragment).
func Parse(uri *url.URL, trustDomain string) (ID, error) {
	switch {
	case uri.Scheme != "spiffe" || uri.Opaque != "":
		return ID{}, ErrNotSPIFFE
	case uri.User != nil || uri.Port() != "" || uri.RawQuery != "" || uri.ForceQuery || uri.Fragment != "" || uri.RawFragment != "":
		return ID{}, ErrNotSPIFFE
	case uri.Host != trustDomain:
		return ID{}, ErrTrustDomain
	}
	// Escaped paths ("/teller%2Fx") would read differently to different parsers.
	if uri.RawPath != "" {
		return ID{}, ErrPath
	}
	parts := strings.Split(strings.TrimPrefix(uri.Path, "/"), "/")
	if !strings.HasPrefix(uri.Path, "/") || len(parts) != 2 {
		return ID{}, ErrPath
	}
	id := ID{Role: Role(parts[0]), Name: parts[1]}
	if !id.Role.Valid() {
		return ID{}, ErrUnknownRole
	}
	if err := ValidateName(id.Name); err != nil {
		return ID{}, ErrInvalidName
	}
	return id, nil
}

// FromCertificate returns the caller a verified certificate names. As an
// X.509-SVID, the certificate must carry exactly one URI SAN, and it must be
// a valid SPIFFE ID of trustDomain.
func FromCertificate(cert *x509.Certificate, trustDomain string) (ID, error) {
	switch len(cert.URIs) {
	case 0:
		return ID{}, ErrNoURI
	case 1:
		return Parse(cert.URIs[0], trustDomain)
	}
	return ID{}, ErrManyURIs
}
