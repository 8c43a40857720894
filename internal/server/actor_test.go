package server_test

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/corebanking/ledger/internal/devcert"
	"github.com/corebanking/ledger/internal/identity"
	"github.com/corebanking/ledger/internal/server"
	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// actorLedger is a fake ledger for the transport's own test: it reports
// the actor each GetBalance call carries.
type actorLedger struct {
	ledger.Ledger
	got chan ledger.Actor
}

func (l actorLedger) GetBalance(ctx context.Context, id string) (ledger.Balance, error) {
	l.got <- ledger.ActorFrom(ctx)
	return ledger.Balance{AccountID: id, Currency: "KRW"}, nil
}

// The actor of a call is the verified caller, role/name; in plaintext mode
// it says that no one was verified.
func TestActorFromIdentity(t *testing.T) {
	dir := t.TempDir()
	if err := devcert.Ensure(dir, identity.DefaultTrustDomain, nil); err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := server.LoadTLS(filepath.Join(dir, devcert.ServerCert), filepath.Join(dir, devcert.ServerKey),
		filepath.Join(dir, devcert.CACert), identity.DefaultTrustDomain)
	if err != nil {
		t.Fatal(err)
	}
	start := func(cfg server.Config) (*server.Server, chan ledger.Actor) {
		got := make(chan ledger.Actor, 1)
		cfg.Listen, cfg.AdminListen, cfg.Ledger = "127.0.0.1:0", "-", actorLedger{got: got}
		s, err := server.Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Stop(context.Background()) })
		return s, got
	}
	ask := func(t *testing.T, accounts ledgerv1.AccountServiceClient, got chan ledger.Actor, want ledger.Actor) {
		t.Helper()
		if _, err := accounts.GetBalance(context.Background(), &ledgerv1.GetBalanceRequest{AccountId: "A-1"}); err != nil {
			t.Fatal(err)
		}
		if a := <-got; a != want {
			t.Fatalf("actor = %q, want %q", a, want)
		}
	}
	t.Run("TLS", func(t *testing.T) {
		s, got := start(server.Config{TLS: tlsCfg})
		for _, role := range []identity.Role{identity.Teller, identity.Auditor} {
			conn := dialTLS(t, s.Addr(), dir, filepath.Join(dir, string(role)+".crt"))
			ask(t, ledgerv1.NewAccountServiceClient(conn), got, ledger.Actor(string(role)+"/dev"))
		}
	})
	t.Run("ErrTLS12", func(t *testing.T) {
		s, _ := start(server.Config{TLS: tlsCfg})
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "teller.crt"), filepath.Join(dir, "teller.key"))
		if err != nil {
			t.Fatal(err)
		}
		old := &tls.Config{MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair},
			RootCAs: tlsCfg.ClientCAs} // the development CA signs both sides
		conn, err := grpc.NewClient(s.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(old)))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, err = ledgerv1.NewAccountServiceClient(conn).GetBalance(context.Background(), &ledgerv1.GetBalanceRequest{AccountId: "A-1"})
		if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "protocol version") {
			t.Fatalf("a TLS 1.2 client got %v, want a failed handshake", err)
		}
	})
	t.Run("Plaintext", func(t *testing.T) {
		s, got := start(server.Config{Plaintext: true})
		ask(t, ledgerv1.NewAccountServiceClient(MustDial(t, s.Addr())), got, server.PlaintextActor)
	})
	t.Run("ErrPlaintextOffLoopback", func(t *testing.T) {
		if s, err := server.Start(server.Config{Plaintext: true, Listen: "0.0.0.0:0", AdminListen: "-"}); err == nil {
			s.Stop(context.Background())
			t.Fatal("plaintext served on every interface")
		}
	})
	t.Run("ErrNoTransport", func(t *testing.T) {
		if s, err := server.Start(server.Config{Listen: "127.0.0.1:0", AdminListen: "-"}); err == nil {
			s.Stop(context.Background())
			t.Fatal("served with neither TLS nor Plaintext")
		}
	})
}

// A refused caller gets no work done: its deposit posts nothing and never
// takes a slot in the routine compartment.
func TestRefusedCallDoesNoWork(t *testing.T) {
	s := startTLSServer(t)
	conn := func(role string) *grpc.ClientConn {
		if role == "" {
			return dialTLS(t, s.m.Server.Addr(), s.dir, "")
		}
		return dialTLS(t, s.m.Server.Addr(), s.dir, filepath.Join(s.dir, role+".crt"))
	}
	ctx := context.Background()
	teller := conn("teller")
	if _, err := ledgerv1.NewAccountServiceClient(teller).OpenAccount(ctx, &ledgerv1.OpenAccountRequest{RequestId: "o1",
		AccountId: "A-1", CustomerId: "C-1", Currency: "KRW", Kind: ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER}); err != nil {
		t.Fatal(err)
	}
	admin := ledgerv1.NewAdminServiceClient(conn("operator"))
	admitted := func() uint64 {
		t.Helper()
		resp, err := admin.ListCompartments(ctx, &ledgerv1.ListCompartmentsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range resp.GetCompartments() {
			if c.GetName() == "routine" {
				return c.GetAdmitted()
			}
		}
		t.Fatal("no routine compartment")
		return 0
	}
	before := admitted()
	deposit := func(c *grpc.ClientConn, id string) error {
		_, err := ledgerv1.NewPaymentServiceClient(c).Deposit(ctx, &ledgerv1.DepositRequest{
			RequestId: id, AccountId: "A-1", Amount: 5000, Currency: "KRW"})
		return err
	}
	AssertReason(t, deposit(conn("auditor"), "d-auditor"), codes.PermissionDenied, "PERMISSION_DENIED")
	AssertReason(t, deposit(conn("operator"), "d-operator"), codes.PermissionDenied, "PERMISSION_DENIED")
	AssertReason(t, deposit(conn(""), "d-nobody"), codes.Unauthenticated, "UNAUTHENTICATED")
	if after := admitted(); after != before {
		t.Errorf("refused calls took %d routine compartment slots", after-before)
	}
	if err := deposit(teller, "d-teller"); err != nil {
		t.Fatal(err)
	}
	b, err := ledgerv1.NewAccountServiceClient(teller).GetBalance(ctx, &ledgerv1.GetBalanceRequest{AccountId: "A-1"})
	if err != nil || b.GetBalance().GetPosted() != 5000 {
		t.Fatalf("balance = %v, %v; want only the teller's 5000", b, err)
	}
}
