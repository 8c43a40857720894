package ledgerd_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/internal/server"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// proc is a ledgerd process the test started, and a client of it.
type proc struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has been reaped
	logPath string        // its standard output and error
	admin   string        // its admin HTTP address
	conn    *grpc.ClientConn
	acct    ledgerv1.AccountServiceClient
	pay     ledgerv1.PaymentServiceClient
	health  healthpb.HealthClient
}

// buildLedgerd builds cmd/ledgerd into a temp dir and returns its path.
func buildLedgerd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ledgerd")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	// go test puts its own GOROOT/bin first on PATH: this is the test's toolchain.
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/corebanking/ledger/cmd/ledgerd").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ledgerd: %v\n%s", err, out)
	}
	return bin
}

// startLedgerd runs bin on dbURL and returns once it reports SERVING. The
// process is killed when the test ends; its log is shown if the test failed.
func startLedgerd(t *testing.T, bin, dbURL string) *proc {
	t.Helper()
	s := launchLedgerd(t, bin, "--database-url", dbURL)
	s.waitServing(t)
	return s
}

// launchLedgerd starts bin with args, in plaintext on ports of its own
// choosing, waits until it says where it listens, and connects a client. It
// does not wait for it to serve; if the process exits first, the proc has no
// client. The ports are the server's own choice, not ones the test found
// free and let go, which another process may take in between.
func launchLedgerd(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "ledgerd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--plaintext"}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatal(err)
	}
	s := &proc{cmd: cmd, exited: make(chan struct{}), logPath: logPath}
	go func() {
		cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	var addr string
	t.Cleanup(func() {
		s.kill(t)
		if t.Failed() {
			t.Logf("ledgerd %s (%s), last lines of %s:\n%s", addr, cmd.ProcessState, logPath, logTail(logPath, 40))
		}
	})
	addr, s.admin, err = server.WaitServingAddrs(context.Background(), logPath, s.exited, 2*time.Minute)
	if errors.Is(err, server.ErrExitedBeforeListening) {
		return s
	}
	if err != nil {
		t.Fatalf("ledgerd: %v", err)
	}

	fast := grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, MaxDelay: time.Second},
		MinConnectTimeout: 5 * time.Second}
	s.conn, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithConnectParams(fast))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.conn.Close() })
	s.acct, s.pay = ledgerv1.NewAccountServiceClient(s.conn), ledgerv1.NewPaymentServiceClient(s.conn)
	s.health = healthpb.NewHealthClient(s.conn)
	return s
}

// waitServing polls the health service, for at most two minutes, until the
// payment service is SERVING.
func (s *proc) waitServing(t *testing.T) {
	t.Helper()
	if s.health == nil {
		t.Fatalf("ledgerd exited before serving: %s", s.cmd.ProcessState)
	}
	req := &healthpb.HealthCheckRequest{Service: ledgerv1.PaymentService_ServiceDesc.ServiceName}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		res, err := s.health.Check(ctx, req)
		cancel()
		if err == nil && res.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ledgerd not serving after 2 minutes: %v %v", res.GetStatus(), err)
		}
		select {
		case <-s.exited:
			t.Fatalf("ledgerd exited before serving: %s", s.cmd.ProcessState)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// kill sends SIGKILL, as the OOM killer or a power cut would, and reaps the
// process. It returns os.ErrProcessDone if the process had already ended.
func (s *proc) kill(tb testing.TB) error {
	tb.Helper()
	err := s.cmd.Process.Kill()
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		tb.Errorf("ledgerd (pid %d) still running a minute after SIGKILL", s.cmd.Process.Pid)
	}
	return err
}

// logTail returns the last n lines of the file at path.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	return string(bytes.Join(lines[max(0, len(lines)-n):], []byte("\n")))
}
