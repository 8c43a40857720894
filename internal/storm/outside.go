package storm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
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
	// The port was free a moment before ledgerd binds it; another process
	// may take it in between. Then ledgerd exits saying so, and another
	// port is tried.
	for attempt := 1; ; attempt++ {
		t, err := launchOutside(ctx, cfg, url, bulkheads, name)
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			return t, err
		}
		cfg.Logf("%v; trying another port", err)
	}
}

// errPortTaken is launchOutside's error when ledgerd found its port taken.
var errPortTaken = errors.New("ledgerd's port was taken before it could listen")

// launchOutside starts cfg.Ledgerd on url, on a port free a moment ago, and
// waits until it serves.
func launchOutside(ctx context.Context, cfg Config, url string, bulkheads bool, name string) (*target, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"--database-url", url, "--listen", addr, "--admin-listen", "-", "--plaintext",
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
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }()
	stop := func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			return errors.Join(errors.New("ledgerd did not stop within 30s of SIGTERM"), <-exited)
		}
	}
	if err := waitServing(ctx, addr, exited); err != nil {
		_ = stop()
		if out, _ := os.ReadFile(logPath); bytes.Contains(out, []byte("address already in use")) {
			return nil, fmt.Errorf("%w (%s)", errPortTaken, addr)
		}
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

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitServing polls the health service at addr until it answers SERVING,
// the process exits, or a minute passes.
func waitServing(ctx context.Context, addr string, exited <-chan error) error {
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
		case err := <-exited:
			return fmt.Errorf("exited before serving: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("not serving a minute after its start")
		}
	}
}
