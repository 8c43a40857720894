package storm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/corebanking/ledger/internal/server"
)

// OutsideDefaults returns the storm measured from outside, as a bank
// would: the load from this process, a ledgerd started from its own
// binary (Config.Ledgerd), the promo doing its real database work, and the
// promo flood compared with a control flood of the same rate at the health
// service, which does no work (Config.Control): the baseline phase carries
// the control flood, in four slices that alternate with the storm's.
func OutsideDefaults() Config {
	c := Defaults()
	c.Baseline, c.Storm, c.Recovery = 20*time.Second, 20*time.Second, 5*time.Second
	// 2,000 customers, half of whom tap "join" again and again; each may
	// subscribe once, and the quota is large: the promo never sells out.
	c.PromoQuota = 1_000_000
	c.PromoDBDelay = 0
	c.PromoConns = 64
	c.Control = true
	c.Slices = 4
	return c
}

// healthCheck is one call of the control flood: a method that does no
// database work, on the promo's connections.
func (w *world) healthCheck(ctx context.Context, t *target, n int64) error {
	_, err := healthpb.NewHealthClient(t.conn(Promo, n)).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

// startOutside starts cfg.Ledgerd as a separate process on a fresh
// database, as a user would (plaintext on loopback), and waits until it
// serves. Its output goes to a file beside the database's, named in errors.
func startOutside(ctx context.Context, cfg Config, newDB func(context.Context, string) (string, error), bulkheads bool, name string) (*target, error) {
	url, err := newDB(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	args := []string{"--database-url", url, "--listen", "127.0.0.1:0", "--admin-listen", "-", "--plaintext",
		"--bulkheads", map[bool]string{true: "on", false: "off"}[bulkheads]}
	for _, kv := range cfg.Limits {
		args = append(args, "--limit", kv)
	}
	logPath := filepath.Join(os.TempDir(), name+"-ledgerd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(cfg.Ledgerd, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("ledgerd: %w", err)
	}
	// exited is closed once the process is reaped, waitErr set before.
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	stop := func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
			return waitErr
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			return errors.Join(errors.New("ledgerd did not stop within 30s of SIGTERM"), waitErr)
		}
	}
	// ledgerd picks its own port and says which in its log: a port found
	// free here and given to it could be taken by another process first.
	addr, _, err := server.WaitServingAddrs(ctx, logPath, exited, time.Minute)
	if err == nil {
		err = waitServing(ctx, addr, exited)
	}
	if err != nil {
		select {
		case <-exited:
			err = fmt.Errorf("%w: %v", err, waitErr)
		default:
		}
		_ = stop()
		return nil, fmt.Errorf("ledgerd (its output: %s): %w", logPath, err)
	}
	cfg.Logf("ledgerd %d serves on %s (its output: %s)", cmd.Process.Pid, addr, logPath)
	t, err := dial(addr, nil, cfg.PromoConns)
	if err != nil {
		_ = stop()
		return nil, err
	}
	t.stop, t.pid = stop, cmd.Process.Pid
	return t, nil
}

// waitServing polls the health service at addr until it answers SERVING,
// the process exits, or a minute passes.
func waitServing(ctx context.Context, addr string, exited <-chan struct{}) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(time.Minute)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := health.Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited before serving")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("not serving a minute after its start")
		}
	}
}
