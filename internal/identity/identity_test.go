package identity_test

import (
	"crypto/x509"
	"errors"
	"net/url"
	"testing"

	"github.com/corebanking/ledger/internal/identity"
)

const td = "bank.example"

func mustURL(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		name, uri string
		want      identity.ID
		err       error
	}{
		{"OK", "spiffe://bank.example/channel/atm-switch", identity.ID{Role: identity.Channel, Name: "atm-switch"}, nil},
		{"OKDottedName", "spiffe://bank.example/auditor/kim.j_2", identity.ID{Role: identity.Auditor, Name: "kim.j_2"}, nil},
		{"ErrScheme", "https://bank.example/channel/x", identity.ID{}, identity.ErrNotSPIFFE},
		{"ErrOpaque", "spiffe:bank.example/channel/x", identity.ID{}, identity.ErrNotSPIFFE},
		{"ErrPort", "spiffe://bank.example:443/channel/x", identity.ID{}, identity.ErrNotSPIFFE},
		{"ErrUser", "spiffe://u@bank.example/channel/x", identity.ID{}, identity.ErrNotSPIFFE},
		{"ErrQuery", "spiffe://bank.example/channel/x?role=operator", identity.ID{}, identity.ErrNotSPIFFE},
		{"ErrFragment", "spiffe://bank.example/channel/x#operator", identity.ID{}, identity.ErrNotSPIFFE},
		{"ErrOtherTrustDomain", "spiffe://evil.example/operator/x", identity.ID{}, identity.ErrTrustDomain},
		{"ErrTrustDomainCase", "spiffe://BANK.example/channel/x", identity.ID{}, identity.ErrTrustDomain},
		{"ErrNoName", "spiffe://bank.example/channel", identity.ID{}, identity.ErrPath},
		{"ErrEmptyName", "spiffe://bank.example/channel/", identity.ID{}, identity.ErrInvalidName},
		{"ErrDeepPath", "spiffe://bank.example/channel/x/y", identity.ID{}, identity.ErrPath},
		{"ErrEscapedSlash", "spiffe://bank.example/channel%2Fx/y", identity.ID{}, identity.ErrPath},
		{"ErrUnknownRole", "spiffe://bank.example/admin/x", identity.ID{}, identity.ErrUnknownRole},
		{"ErrRoleCase", "spiffe://bank.example/Operator/x", identity.ID{}, identity.ErrUnknownRole},
		{"ErrNameCase", "spiffe://bank.example/teller/Kim", identity.ID{}, identity.ErrInvalidName},
		{"ErrDotName", "spiffe://bank.example/teller/..", identity.ID{}, identity.ErrInvalidName},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := identity.Parse(mustURL(t, tt.uri), td)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("Parse(%s) = %v, %v; want %v, %v", tt.uri, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestFromCertificate(t *testing.T) {
	one := mustURL(t, "spiffe://bank.example/teller/kim")
	other := mustURL(t, "spiffe://bank.example/operator/root")
	for _, tt := range []struct {
		name string
		uris []*url.URL
		err  error
	}{
		{"OK", []*url.URL{one}, nil},
		{"ErrNoURI", nil, identity.ErrNoURI},
		{"ErrManyURIs", []*url.URL{one, other}, identity.ErrManyURIs},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id, err := identity.FromCertificate(&x509.Certificate{URIs: tt.uris}, td)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && id.Actor() != "teller/kim" {
				t.Fatalf("actor = %q", id.Actor())
			}
		})
	}
}

func TestValidateTrustDomain(t *testing.T) {
	for _, ok := range []string{"ledger.local", "bank.example", "a"} {
		if err := identity.ValidateTrustDomain(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Bank.example", "bank.example.", "-bank", "bank/x", "bank:443"} {
		if err := identity.ValidateTrustDomain(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParse feeds arbitrary URIs to the SAN parser: whatever it accepts
// must name a known role and a valid name, and print back as the same ID.
func FuzzParse(f *testing.F) {
	f.Add("spiffe://bank.example/channel/atm-switch")
	f.Add("spiffe://bank.example/operator/x?y")
	f.Add("spiffe://bank.example/teller/%2e%2e")
	f.Add("spiffe://bank.example//teller/x")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		id, err := identity.Parse(u, td)
		if err != nil {
			if id != (identity.ID{}) {
				t.Fatalf("error %v with a non-zero ID %v", err, id)
			}
			return
		}
		if !id.Role.Valid() || identity.ValidateName(id.Name) != nil {
			t.Fatalf("accepted %q as %v", s, id)
		}
		again, err := identity.Parse(mustURL(t, id.URI(td).String()), td)
		if err != nil || again != id {
			t.Fatalf("%q -> %v -> %s -> %v, %v", s, id, id.URI(td), again, err)
		}
	})
}
