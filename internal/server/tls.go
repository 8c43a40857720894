package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"

	"google.golang.org/grpc/credentials"

	"github.com/corebanking/ledger/internal/identity"
)

// TLSConfig is mutual TLS: the server's certificate, the CAs whose client
// certificates it accepts, and the trust domain of its callers' SPIFFE IDs.
type TLSConfig struct {
	Certificate tls.Certificate
	ClientCAs   *x509.CertPool
	TrustDomain string
}

// LoadTLS reads a TLSConfig from PEM files: the server's certificate and
// key, and the CAs that sign client certificates.
func LoadTLS(certFile, keyFile, clientCAFile, trustDomain string) (*TLSConfig, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	caPEM, err := os.ReadFile(clientCAFile)
	if err != nil {
		return nil, fmt.Errorf("client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("client CA %s: no PEM certificate in it", clientCAFile)
	}
	return &TLSConfig{Certificate: pair, ClientCAs: pool, TrustDomain: trustDomain}, nil
}

// credentials returns the server's transport credentials: TLS 1.3 only. A
// client certificate, when given, must chain to ClientCAs with the client
// auth usage, or the handshake fails. One that is not given lets the
// connection open, but every call on it is refused UNAUTHENTICATED, so the
// caller gets a status that says so rather than a broken connection.
func (c *TLSConfig) credentials(onFailure func(net.Addr, error)) (credentials.TransportCredentials, error) {
	switch {
	case c.ClientCAs == nil:
		return nil, errors.New("server: TLS needs the CAs of client certificates")
	case len(c.Certificate.Certificate) == 0:
		return nil, errors.New("server: TLS needs a server certificate")
	}
	if err := identity.ValidateTrustDomain(c.TrustDomain); err != nil {
		return nil, err
	}
	creds := credentials.NewTLS(&tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{c.Certificate},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    c.ClientCAs,
	})
	return &handshakeWatch{TransportCredentials: creds, onFailure: onFailure}, nil
}

// handshakeWatch reports failed handshakes (a certificate of another CA, a
// client too old for TLS 1.3, plaintext on the TLS port): they never reach
// a call, so nothing else would count them.
type handshakeWatch struct {
	credentials.TransportCredentials
	onFailure func(net.Addr, error)
}

func (h *handshakeWatch) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	out, info, err := h.TransportCredentials.ServerHandshake(conn)
	if err != nil {
		h.onFailure(conn.RemoteAddr(), err)
	}
	return out, info, err
}

func (h *handshakeWatch) Clone() credentials.TransportCredentials {
	return &handshakeWatch{TransportCredentials: h.TransportCredentials.Clone(), onFailure: h.onFailure}
}

// handshakeFailed counts and logs a failed handshake with the peer's
// address; the TLS error names the check that failed, never a key.
func (a *authorizer) handshakeFailed(addr net.Addr, err error) {
	a.failures.WithLabelValues(failHandshake).Inc()
	a.log.Warn("TLS handshake failed", "peer", addr.String(), "error", err)
}

// checkLoopback refuses a plaintext listener that others can reach. It
// looks at the address actually bound, so a name that resolves elsewhere
// cannot slip through.
func checkLoopback(lis net.Listener) error {
	if a, ok := lis.Addr().(*net.TCPAddr); ok && a.IP.IsLoopback() {
		return nil
	}
	return errors.New("server: plaintext is refused on " + lis.Addr().String() +
		": it is for development on this machine only; listen on 127.0.0.1 or ::1, or use mutual TLS")
}

// logPlaintext says loudly what plaintext mode means.
func logPlaintext(log *slog.Logger, addr string) {
	log.Warn("PLAINTEXT MODE: no TLS and no client authentication; every caller may call every method in the "+
		"permission table, recorded as "+string(PlaintextActor)+". For development on this machine only.", "grpc", addr)
}
