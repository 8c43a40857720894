package server_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/corebanking/ledger/bulkhead"
	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/internal/server"
	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// client is a connection to a real ledgerd on a fresh database.
type client struct {
	accounts ledgerv1.AccountServiceClient
	payments ledgerv1.PaymentServiceClient
	audit    ledgerv1.AuditServiceClient
	admin    ledgerv1.AdminServiceClient
	health   healthpb.HealthClient
	now      atomic.Int64 // the server's clock, in unix nanoseconds
}

func MustStartServer(tb testing.TB) *client {
	tb.Helper()
	c := &client{}
	c.now.Store(time.Now().UnixNano())
	m, err := ledgerd.Run(context.Background(), ledgerd.Config{
		DatabaseURL: pgtest.NewDatabase(tb), Listen: "127.0.0.1:0", AdminListen: "-", Plaintext: true,
		Now: func() time.Time { return time.Unix(0, c.now.Load()) },
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	conn := MustDial(tb, m.Server.Addr())
	c.accounts, c.payments, c.health = ledgerv1.NewAccountServiceClient(conn), ledgerv1.NewPaymentServiceClient(conn), healthpb.NewHealthClient(conn)
	c.audit, c.admin = ledgerv1.NewAuditServiceClient(conn), ledgerv1.NewAdminServiceClient(conn)
	return c
}

func MustDial(tb testing.TB, addr string) *grpc.ClientConn {
	tb.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

// AssertReason checks that err is a status with code and reason, and
// messages in en-US and ko-KR; it returns the BadRequest detail, if any.
func AssertReason(tb testing.TB, err error, code codes.Code, reason string) *errdetails.BadRequest {
	tb.Helper()
	st := status.Convert(err)
	if st.Code() != code {
		tb.Fatalf("code = %v (%v), want %v", st.Code(), err, code)
	}
	var gotReason string
	locales := map[string]string{}
	var br *errdetails.BadRequest
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			gotReason = d.Reason
			if d.Metadata["call_id"] == "" {
				tb.Errorf("%s: no call id", reason)
			}
		case *errdetails.LocalizedMessage:
			locales[d.Locale] = d.Message
		case *errdetails.BadRequest:
			br = d
		}
	}
	if gotReason != reason {
		tb.Fatalf("reason = %q, want %q", gotReason, reason)
	}
	if locales["en-US"] == "" || locales["ko-KR"] == "" || locales["en-US"] == locales["ko-KR"] {
		tb.Fatalf("%s: localized messages = %v", reason, locales)
	}
	return br
}

func TestErrorsOverGRPC(t *testing.T) {
	ctx := context.Background()
	c := MustStartServer(t)
	open := func(id string) {
		t.Helper()
		if _, err := c.accounts.OpenAccount(ctx, &ledgerv1.OpenAccountRequest{RequestId: "open-" + id, AccountId: id,
			CustomerId: "c-" + id, Currency: "KRW", Kind: ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER}); err != nil {
			t.Fatal(err)
		}
	}
	open("alice")
	open("bob")
	if _, err := c.payments.Deposit(ctx, &ledgerv1.DepositRequest{RequestId: "d1", AccountId: "alice", Amount: 10_000, Currency: "KRW"}); err != nil {
		t.Fatal(err)
	}

	t.Run("InvalidArgument", func(t *testing.T) {
		_, err := c.payments.Transfer(ctx, &ledgerv1.TransferRequest{FromAccountId: "alice", ToAccountId: "bob", Amount: -5, Currency: "XYZ"})
		br := AssertReason(t, err, codes.InvalidArgument, "INVALID_ARGUMENT")
		fields := map[string]bool{}
		for _, v := range br.GetFieldViolations() {
			fields[v.Field] = true
		}
		if !fields["request_id"] || !fields["amount"] || !fields["currency"] || len(fields) != 3 {
			t.Fatalf("field violations = %v", br)
		}
	})
	t.Run("InsufficientFunds", func(t *testing.T) {
		_, err := c.payments.Transfer(ctx, &ledgerv1.TransferRequest{RequestId: "t1", FromAccountId: "alice", ToAccountId: "bob", Amount: 10_001, Currency: "KRW"})
		AssertReason(t, err, codes.FailedPrecondition, "INSUFFICIENT_FUNDS")
	})
	t.Run("AccountNotFound", func(t *testing.T) {
		_, err := c.accounts.GetBalance(ctx, &ledgerv1.GetBalanceRequest{AccountId: "nobody"})
		AssertReason(t, err, codes.NotFound, "ACCOUNT_NOT_FOUND")
	})
	t.Run("AccountExists", func(t *testing.T) {
		_, err := c.accounts.OpenAccount(ctx, &ledgerv1.OpenAccountRequest{RequestId: "open-again", AccountId: "alice",
			CustomerId: "x", Currency: "KRW", Kind: ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER})
		AssertReason(t, err, codes.AlreadyExists, "ACCOUNT_EXISTS")
	})
	t.Run("CurrencyMismatch", func(t *testing.T) {
		_, err := c.payments.Deposit(ctx, &ledgerv1.DepositRequest{RequestId: "d-usd", AccountId: "alice", Amount: 1, Currency: "USD"})
		AssertReason(t, err, codes.FailedPrecondition, "CURRENCY_MISMATCH")
	})
	t.Run("IdempotencyConflict", func(t *testing.T) {
		_, err := c.payments.Deposit(ctx, &ledgerv1.DepositRequest{RequestId: "d1", AccountId: "alice", Amount: 9, Currency: "KRW"})
		AssertReason(t, err, codes.FailedPrecondition, "IDEMPOTENCY_CONFLICT")
	})
	t.Run("HoldExpiredAndNotActive", func(t *testing.T) {
		h, err := c.payments.PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{RequestId: "h1", AccountId: "alice", Amount: 1_000, Currency: "KRW", Ttl: durationpb.New(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		c.now.Add(int64(2 * time.Minute))
		_, err = c.payments.CaptureHold(ctx, &ledgerv1.CaptureHoldRequest{RequestId: "c1", HoldId: h.Hold.HoldId})
		AssertReason(t, err, codes.FailedPrecondition, "HOLD_EXPIRED")

		h, err = c.payments.PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{RequestId: "h2", AccountId: "alice", Amount: 1_000, Currency: "KRW"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.payments.VoidHold(ctx, &ledgerv1.VoidHoldRequest{RequestId: "v2", HoldId: h.Hold.HoldId}); err != nil {
			t.Fatal(err)
		}
		_, err = c.payments.CaptureHold(ctx, &ledgerv1.CaptureHoldRequest{RequestId: "c2", HoldId: h.Hold.HoldId})
		AssertReason(t, err, codes.FailedPrecondition, "HOLD_NOT_ACTIVE")
	})
	t.Run("HoldNotFound", func(t *testing.T) {
		_, err := c.payments.VoidHold(ctx, &ledgerv1.VoidHoldRequest{RequestId: "v3", HoldId: "00000000-0000-4000-8000-000000000001"})
		AssertReason(t, err, codes.NotFound, "HOLD_NOT_FOUND")
	})
	t.Run("Health", func(t *testing.T) {
		for _, svc := range append([]string{""}, server.Services...) {
			resp, err := c.health.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
			if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("health of %q = %v, %v", svc, resp, err)
			}
		}
	})
}

// panicky is a fake ledger for the transport's own test: its Transfer panics.
type panicky struct{ ledger.Ledger }

func (panicky) Transfer(context.Context, ledger.TransferRequest) (ledger.Entry, error) {
	panic("nil map write in a handler, with internal detail")
}

func TestPanicBecomesInternal(t *testing.T) {
	s, err := server.Start(server.Config{Listen: "127.0.0.1:0", AdminListen: "-", Plaintext: true, Ledger: panicky{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	payments := ledgerv1.NewPaymentServiceClient(MustDial(t, s.Addr()))
	_, err = payments.Transfer(context.Background(), &ledgerv1.TransferRequest{RequestId: "p1", FromAccountId: "a", ToAccountId: "b", Amount: 1, Currency: "KRW"})
	AssertReason(t, err, codes.Internal, "INTERNAL")
	if msg := status.Convert(err).Message(); msg == "" || strings.Contains(msg, "nil map") {
		t.Fatalf("message = %q", msg)
	}
	// The server survives the panic.
	_, err = payments.Transfer(context.Background(), &ledgerv1.TransferRequest{RequestId: "p2", FromAccountId: "a", ToAccountId: "b", Amount: 1, Currency: "KRW"})
	AssertReason(t, err, codes.Internal, "INTERNAL")
}

// everyMethodTo maps every method of the ledger's services to compartment.
func everyMethodTo(compartment string) map[string]string {
	methods := map[string]string{}
	for _, sd := range []grpc.ServiceDesc{ledgerv1.AccountService_ServiceDesc, ledgerv1.PaymentService_ServiceDesc,
		ledgerv1.PromoService_ServiceDesc, ledgerv1.AdminService_ServiceDesc, ledgerv1.AuditService_ServiceDesc} {
		for _, m := range sd.Methods {
			methods["/"+sd.ServiceName+"/"+m.MethodName] = compartment
		}
		for _, m := range sd.Streams {
			methods["/"+sd.ServiceName+"/"+m.StreamName] = compartment
		}
	}
	return methods
}

// TestStartRefusesAnUnroutedMethod: with compartments configured, a method
// that the compartment map leaves out is a start-up error that names it,
// not a call served outside every bulkhead.
func TestStartRefusesAnUnroutedMethod(t *testing.T) {
	methods := everyMethodTo("all")
	cfg := func(methods map[string]string) server.Config {
		return server.Config{Listen: "127.0.0.1:0", AdminListen: "-", Plaintext: true, Logger: slog.New(slog.DiscardHandler),
			Compartments: []server.CompartmentConfig{{Settings: bulkhead.Settings{Name: "all", MaxConcurrent: 1}}}, Methods: methods}
	}
	s, err := server.Start(cfg(methods))
	if err != nil {
		t.Fatalf("every method mapped: %v", err)
	}
	_ = s.Stop(t.Context())

	delete(methods, ledgerv1.PaymentService_Transfer_FullMethodName)
	delete(methods, ledgerv1.AuditService_StreamJournal_FullMethodName)
	s, err = server.Start(cfg(methods))
	if err == nil {
		_ = s.Stop(t.Context())
		t.Fatal("Start served with Transfer and StreamJournal in no compartment")
	}
	for _, m := range []string{ledgerv1.PaymentService_Transfer_FullMethodName, ledgerv1.AuditService_StreamJournal_FullMethodName} {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("Start's error does not name %s: %v", m, err)
		}
	}
}
