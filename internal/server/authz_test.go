package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/corebanking/ledger/internal/devcert"
	"github.com/corebanking/ledger/internal/identity"
	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/internal/server"
)

// wantAllowed is who may call what, written out by hand apart from the
// server's table so that a change to either shows here: c channel,
// t teller, a auditor, o operator. Every method the server registers must
// have a row; AuditService is listed before it is served.
var wantAllowed = map[string]string{
	"/ledger.v1.AccountService/OpenAccount":      "cto",
	"/ledger.v1.AccountService/GetAccount":       "ctao",
	"/ledger.v1.AccountService/GetBalance":       "ctao",
	"/ledger.v1.AccountService/ListEntries":      "ctao",
	"/ledger.v1.AccountService/SetAccountStatus": "o",

	"/ledger.v1.PaymentService/Deposit":      "ct",
	"/ledger.v1.PaymentService/Withdraw":     "ct",
	"/ledger.v1.PaymentService/Transfer":     "c",
	"/ledger.v1.PaymentService/PlaceHold":    "c",
	"/ledger.v1.PaymentService/CaptureHold":  "c",
	"/ledger.v1.PaymentService/VoidHold":     "c",
	"/ledger.v1.PaymentService/PostEntry":    "co",
	"/ledger.v1.PaymentService/ReverseEntry": "co",
	"/ledger.v1.PaymentService/SubmitBatch":  "cto",

	"/ledger.v1.PromoService/CreatePromo":        "o",
	"/ledger.v1.PromoService/GetPromo":           "co",
	"/ledger.v1.PromoService/Subscribe":          "c",
	"/ledger.v1.PromoService/CancelSubscription": "c",
	"/ledger.v1.PromoService/ListSubscriptions":  "o",

	"/ledger.v1.AdminService/ListCompartments": "o",

	"/ledger.v1.AuditService/ListJournal":         "a",
	"/ledger.v1.AuditService/StreamJournal":       "a",
	"/ledger.v1.AuditService/GetCheckpoint":       "ao",
	"/ledger.v1.AuditService/VerifyJournal":       "ao",
	"/ledger.v1.AuditService/GetInclusionProof":   "a",
	"/ledger.v1.AuditService/GetConsistencyProof": "ao",

	"/grpc.health.v1.Health/Check": "ctao",
	"/grpc.health.v1.Health/Watch": "ctao",
	"/grpc.health.v1.Health/List":  "ctao",

	"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      "o",
	"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": "o",

	// Not in the permission table: refused to everyone.
	"/ledger.v1.AccountService/CloseAllAccounts": "",
}

var roleLetter = map[identity.Role]string{identity.Channel: "c", identity.Teller: "t", identity.Auditor: "a", identity.Operator: "o"}

// tlsServer is a real ledgerd over mutual TLS with development certificates
// on a fresh database, and the log it writes.
type tlsServer struct {
	m      *ledgerd.Main
	dir    string // its development certificates
	logMu  sync.Mutex
	logBuf bytes.Buffer
}

func (s *tlsServer) Write(p []byte) (int, error) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.logBuf.Write(p)
}

func (s *tlsServer) log() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.logBuf.String()
}

func startTLSServer(t *testing.T) *tlsServer {
	t.Helper()
	s := &tlsServer{dir: filepath.Join(t.TempDir(), "tls")}
	m, err := ledgerd.Run(context.Background(), ledgerd.Config{
		DatabaseURL: pgtest.NewDatabase(t), Listen: "127.0.0.1:0", AdminListen: "-", TLSDir: s.dir,
		Logger: slog.New(slog.NewTextHandler(s, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	s.m = m
	return s
}

// dialTLS connects to addr trusting the CA in caDir, presenting the
// certificate certFile (and its .key), or none when certFile is "".
func dialTLS(tb testing.TB, addr, caDir, certFile string) *grpc.ClientConn {
	tb.Helper()
	caPEM, err := os.ReadFile(filepath.Join(caDir, devcert.CACert))
	if err != nil {
		tb.Fatal(err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: x509.NewCertPool()}
	cfg.RootCAs.AppendCertsFromPEM(caPEM)
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, strings.TrimSuffix(certFile, ".crt")+".key")
		if err != nil {
			tb.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

// method is one RPC the matrix calls.
type method struct {
	name   string
	stream bool
}

// methods lists every method the server registers, and the methods of the
// expectations that it does not (yet) serve, each once, sorted.
func methods(t *testing.T, s *server.Server) []method {
	t.Helper()
	seen := map[string]bool{}
	var out []method
	for svc, info := range s.ServiceInfo() {
		for _, m := range info.Methods {
			name := "/" + svc + "/" + m.Name
			if _, ok := wantAllowed[name]; !ok {
				t.Errorf("%s is served but has no expectation: add it to wantAllowed and to the permission table", name)
			}
			seen[name] = true
			out = append(out, method{name: name, stream: m.IsClientStream || m.IsServerStream})
		}
	}
	for name := range wantAllowed {
		if !seen[name] {
			out = append(out, method{name: name})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// callEmpty calls m with an empty request and returns the status: an
// empty message is a valid encoding of every request type.
func callEmpty(conn *grpc.ClientConn, m method) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !m.stream {
		return conn.Invoke(ctx, m.name, &emptypb.Empty{}, &emptypb.Empty{})
	}
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, m.name)
	if err != nil {
		return err
	}
	if err := st.SendMsg(&emptypb.Empty{}); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := st.CloseSend(); err != nil {
		return err
	}
	if err := st.RecvMsg(&emptypb.Empty{}); !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// refused reports whether code is a refusal, as opposed to an answer from
// a permitted call (OK, or a business error such as INVALID_ARGUMENT for
// the empty request, or UNIMPLEMENTED for a service not served yet).
func refused(code codes.Code) bool {
	return code == codes.PermissionDenied || code == codes.Unauthenticated || code == codes.Unavailable
}

// TestPermissionMatrix calls every method as every role, with no client
// certificate, with a certificate of another CA and with one of another
// trust domain, over mutual TLS to a real ledgerd, and checks each answer
// against wantAllowed.
func TestPermissionMatrix(t *testing.T) {
	s := startTLSServer(t)
	addr := s.m.Server.Addr()
	other := filepath.Join(t.TempDir(), "other-ca")
	if err := devcert.Ensure(other, identity.DefaultTrustDomain, nil); err != nil {
		t.Fatal(err)
	}
	foreign, err := devcert.Issue(s.dir, "evil.example", identity.ID{Role: identity.Operator, Name: "mallory"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ms := methods(t, s.m.Server)

	for _, role := range identity.Roles {
		conn := dialTLS(t, addr, s.dir, filepath.Join(s.dir, string(role)+".crt"))
		for _, m := range ms {
			t.Run(string(role)+m.name, func(t *testing.T) {
				err := callEmpty(conn, m)
				allowed := strings.Contains(wantAllowed[m.name], roleLetter[role])
				switch code := status.Code(err); {
				case allowed && refused(code):
					t.Fatalf("%s may call %s, got %v", role, m.name, err)
				case !allowed:
					AssertReason(t, err, codes.PermissionDenied, "PERMISSION_DENIED")
				}
			})
		}
	}
	unauthenticated := map[string]*grpc.ClientConn{
		"NoCertificate":    dialTLS(t, addr, s.dir, ""),
		"OtherTrustDomain": dialTLS(t, addr, s.dir, foreign),
	}
	for name, conn := range unauthenticated {
		for _, m := range ms {
			t.Run(name+m.name, func(t *testing.T) {
				AssertReason(t, callEmpty(conn, m), codes.Unauthenticated, "UNAUTHENTICATED")
			})
		}
	}
	// A certificate no trusted CA signed does not get past the handshake.
	otherCA := dialTLS(t, addr, s.dir, filepath.Join(other, "operator.crt"))
	for _, m := range ms {
		t.Run("OtherCA"+m.name, func(t *testing.T) {
			if err := callEmpty(otherCA, m); status.Code(err) != codes.Unavailable {
				t.Fatalf("got %v, want UNAVAILABLE from a failed handshake", err)
			}
		})
	}
	t.Run("Counted", func(t *testing.T) {
		wantDenied := map[string]float64{}
		for _, m := range ms {
			for role, letter := range roleLetter {
				if !strings.Contains(wantAllowed[m.name], letter) {
					wantDenied[string(role)]++
				}
			}
		}
		for role, n := range wantDenied {
			if got := counter(t, s.m.Server, "ledger_permission_denied_total", "role", role); got != n {
				t.Errorf("permission denied to %s counted %v times, want %v", role, got, n)
			}
		}
		for reason, n := range map[string]float64{"no_certificate": float64(len(ms)), "bad_identity": float64(len(ms))} {
			if got := counter(t, s.m.Server, "ledger_authentication_failures_total", "reason", reason); got != n {
				t.Errorf("authentication failures %s = %v, want %v", reason, got, n)
			}
		}
		if got := counter(t, s.m.Server, "ledger_authentication_failures_total", "reason", "tls_handshake"); got < 1 {
			t.Errorf("failed handshakes counted %v times", got)
		}
	})
	t.Run("Logged", func(t *testing.T) {
		log := s.log()
		for _, want := range []string{`msg="authentication failed" peer=127.0.0.1:`, `reason=no_certificate`,
			`error="SPIFFE ID is of another trust domain"`, `msg="TLS handshake failed" peer=127.0.0.1:`,
			`msg="permission denied" peer=127.0.0.1:`, `caller=auditor/dev`} {
			if !strings.Contains(log, want) {
				t.Errorf("the log lacks %s", want)
			}
		}
		if strings.Contains(log, "PRIVATE KEY") {
			t.Error("the log shows a key")
		}
	})
}

// counter returns the value of the counter name whose label is value.
func counter(tb testing.TB, s *server.Server, name, label, value string) float64 {
	tb.Helper()
	families, err := s.Registry.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
