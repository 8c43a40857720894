package ledgerd_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgtest"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// runInProcess runs ledgerd in-process on a fresh database, in plaintext
// on port 0 with a quiet log and cfg's other settings, and connects to it.
func runInProcess(t *testing.T, cfg ledgerd.Config) (*ledgerd.Main, *grpc.ClientConn) {
	t.Helper()
	cfg.DatabaseURL, cfg.Listen, cfg.Plaintext = pgtest.NewDatabase(t), "127.0.0.1:0", true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if cfg.AdminListen == "" {
		cfg.AdminListen = "-"
	}
	m, err := ledgerd.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	conn, err := grpc.NewClient(m.Server.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return m, conn
}

// runTraced runs ledgerd with tracing as given, and returns a payment
// client of it.
func runTraced(t *testing.T, tracing ledgerd.TracingConfig) (*ledgerd.Main, ledgerv1.PaymentServiceClient) {
	t.Helper()
	m, conn := runInProcess(t, ledgerd.Config{Tracing: tracing})
	return m, ledgerv1.NewPaymentServiceClient(conn)
}

// failedTransfer makes a transfer the ledger refuses and returns the call
// id the refusal names.
func failedTransfer(t *testing.T, pay ledgerv1.PaymentServiceClient) string {
	t.Helper()
	_, err := pay.Transfer(t.Context(), &ledgerv1.TransferRequest{RequestId: "t-1", FromAccountId: "nobody",
		ToAccountId: "nobody-else", Amount: 1, Currency: "KRW"})
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetMetadata()["call_id"] != "" {
			return info.GetMetadata()["call_id"]
		}
	}
	t.Fatalf("transfer: %v, want a refusal with a call id", err)
	return ""
}

// TestTracing: each call is a server span that carries its call id and
// compartment, and the database statements it made are spans under it.
func TestTracing(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	_, pay := runTraced(t, ledgerd.TracingConfig{Provider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))})
	callID := failedTransfer(t, pay)

	// The server ends its span once the answer is sent: the client may
	// have it a moment before.
	var call sdktrace.ReadOnlySpan
	for deadline := time.Now().Add(10 * time.Second); call == nil; time.Sleep(10 * time.Millisecond) {
		for _, s := range spans.Ended() {
			if s.Name() == "ledger.v1.PaymentService/Transfer" && attr(s, "ledger.call_id") == callID {
				call = s
			}
		}
		if call == nil && time.Now().After(deadline) {
			t.Fatalf("no server span of the transfer with call id %s among %d spans", callID, len(spans.Ended()))
		}
	}
	if got := attr(call, "ledger.compartment"); got != "routine" {
		t.Errorf("compartment on the span = %q, want routine", got)
	}
	if got := attr(call, "ledger.request_id"); got != "t-1" {
		t.Errorf("request id on the span = %q, want t-1", got)
	}
	var statements int
	for _, s := range spans.Ended() {
		if s.Parent().SpanID() == call.SpanContext().SpanID() && attr(s, "db.system.name") == "postgresql" {
			statements++
		}
	}
	if statements == 0 {
		t.Errorf("no database statement span under the call's span")
	}
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if kv.Key == attribute.Key(key) {
			return kv.Value.Emit()
		}
	}
	return ""
}

// collector is an OTLP/gRPC trace collector that keeps the span names it
// receives, by the service.name of their resource.
type collector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans map[string][]string
}

func (c *collector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		var service string
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.spans[service] = append(c.spans[service], s.GetName())
			}
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// TestTracingOverOTLP: with an endpoint, spans reach an OTLP collector,
// under the service name ledgerd.
func TestTracingOverOTLP(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{spans: map[string][]string{}}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, c)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)

	m, pay := runTraced(t, ledgerd.TracingConfig{Endpoint: lis.Addr().String(), Insecure: true})
	failedTransfer(t, pay)
	if err := m.Close(); err != nil { // flushes the spans
		t.Logf("close: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		got := c.spans["ledgerd"]
		c.mu.Unlock()
		for _, name := range got {
			if name == "ledger.v1.PaymentService/Transfer" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector has no transfer span from ledgerd: %v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
