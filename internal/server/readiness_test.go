package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/corebanking/ledger/bulkhead"
	"github.com/corebanking/ledger/internal/server"
	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// downLedger is a fake ledger for the transport's own test: every transfer
// fails as a store does when its database is gone.
type downLedger struct{ ledger.Ledger }

func (downLedger) Transfer(context.Context, ledger.TransferRequest) (ledger.Entry, error) {
	return ledger.Entry{}, &ledger.Error{Code: ledger.CodeUnavailable, Message: "database unavailable", Err: errors.New("connection refused")}
}

// fakeDatabase is a probe whose answer the test sets, and counts its calls.
type fakeDatabase struct {
	down   atomic.Bool
	probes atomic.Int64
}

func (f *fakeDatabase) probe(context.Context) error {
	f.probes.Add(1)
	if f.down.Load() {
		return errors.New("dial unix /tmp/.s.PGSQL.5432: connect: connection refused")
	}
	return nil
}

// startProbed starts a server whose database is db, probed every interval.
func startProbed(t *testing.T, db *fakeDatabase, interval time.Duration) *server.Server {
	t.Helper()
	s, err := server.Start(server.Config{
		Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", Plaintext: true, Ledger: downLedger{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Probe: db.probe, ProbeInterval: interval,
		HealthPoll:   10 * time.Millisecond,
		Compartments: []server.CompartmentConfig{{Settings: bulkhead.Settings{Name: "routine"}, Ledger: downLedger{}}},
		Methods:      everyMethodTo("routine"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	return s
}

// get returns the status code and body of the admin port's path.
func get(t *testing.T, s *server.Server, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + s.AdminAddr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// healthOf returns the status of every service the server reports on, "" included.
func healthOf(t *testing.T, h healthpb.HealthClient) map[string]healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	out := map[string]healthpb.HealthCheckResponse_ServingStatus{}
	for _, svc := range append([]string{""}, server.Services...) {
		resp, err := h.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatalf("health of %q: %v", svc, err)
		}
		out[svc] = resp.GetStatus()
	}
	return out
}

// waitAll waits until every service reports want and the admin path
// answers code, or fails the test after limit.
func waitAll(t *testing.T, s *server.Server, h healthpb.HealthClient, want healthpb.HealthCheckResponse_ServingStatus, code int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got := healthOf(t, h)
		all := true
		for _, st := range got {
			all = all && st == want
		}
		c, body := get(t, s, "/readyz")
		if all && c == code {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: health %v, /readyz %d %q; want %v and %d", limit, got, c, body, want, code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReadinessFollowsTheDatabase(t *testing.T) {
	db := &fakeDatabase{}
	s := startProbed(t, db, 50*time.Millisecond)
	h := healthpb.NewHealthClient(MustDial(t, s.Addr()))
	waitAll(t, s, h, healthpb.HealthCheckResponse_SERVING, http.StatusOK, 5*time.Second)

	db.down.Store(true)
	waitAll(t, s, h, healthpb.HealthCheckResponse_NOT_SERVING, http.StatusServiceUnavailable, 5*time.Second)
	for _, path := range []string{"/readyz", "/healthz"} {
		code, body := get(t, s, path)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "database") || !strings.Contains(body, "connection refused") {
			t.Errorf("%s while the database is down: %d %q, want 503 with the reason", path, code, body)
		}
	}
	if code, body := get(t, s, "/livez"); code != http.StatusOK {
		t.Errorf("/livez while the database is down: %d %q; liveness must not follow the database", code, body)
	}
	if _, body := get(t, s, "/metrics"); !strings.Contains(body, "ledger_ready 0") {
		t.Errorf("/metrics does not say ledger_ready 0 while the database is down")
	}

	db.down.Store(false)
	waitAll(t, s, h, healthpb.HealthCheckResponse_SERVING, http.StatusOK, 5*time.Second)
}

// A call that fails for want of the database makes the server probe at
// once, not at its next tick.
func TestFailedCallProbesAtOnce(t *testing.T) {
	db := &fakeDatabase{}
	s := startProbed(t, db, time.Hour)
	h := healthpb.NewHealthClient(MustDial(t, s.Addr()))
	deadline := time.Now().Add(5 * time.Second)
	for db.probes.Load() == 0 { // the first probe runs at start
		if time.Now().After(deadline) {
			t.Fatal("no probe at start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	db.down.Store(true)
	payments := ledgerv1.NewPaymentServiceClient(MustDial(t, s.Addr()))
	_, err := payments.Transfer(context.Background(), &ledgerv1.TransferRequest{RequestId: "t1", FromAccountId: "a", ToAccountId: "b", Amount: 1, Currency: "KRW"})
	AssertReason(t, err, codes.Unavailable, "UNAVAILABLE")
	waitAll(t, s, h, healthpb.HealthCheckResponse_NOT_SERVING, http.StatusServiceUnavailable, 5*time.Second)
}

func TestAdminPortIsLoopbackUnlessPublic(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if s, err := server.Start(server.Config{Listen: "127.0.0.1:0", AdminListen: "0.0.0.0:0", Plaintext: true, Logger: quiet}); err == nil {
		s.Stop(context.Background())
		t.Fatal("an admin port on 0.0.0.0 was accepted without AdminPublic")
	} else if !strings.Contains(err.Error(), "admin") {
		t.Errorf("refusal does not say why: %v", err)
	}
	s, err := server.Start(server.Config{Listen: "127.0.0.1:0", AdminListen: "0.0.0.0:0", AdminPublic: true, Plaintext: true, Logger: quiet})
	if err != nil {
		t.Fatalf("AdminPublic: %v", err)
	}
	s.Stop(context.Background())
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		s, err := server.Start(server.Config{Listen: "127.0.0.1:0", AdminListen: addr, Plaintext: true, Logger: quiet})
		if err != nil {
			t.Fatalf("admin on %s: %v", addr, err)
		}
		s.Stop(context.Background())
	}
}
