package soak

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// instance is one ledgerd process of the soak, on its own addresses and
// behind its own proxy to the database, and the soak's client of it.
type instance struct {
	n       int
	bin     string
	dbURL   string // through the instance's proxy
	addr    string
	admin   string
	logPath string

	conn   *grpc.ClientConn
	acct   ledgerv1.AccountServiceClient
	pay    ledgerv1.PaymentServiceClient
	promo  ledgerv1.PromoServiceClient
	audit  ledgerv1.AuditServiceClient
	health healthpb.HealthClient

	mu        sync.Mutex
	cmd       *exec.Cmd
	exited    chan struct{} // closed when cmd has exited
	ending    bool          // the soak is ending the process
	serving   bool
	starts    int
	surprises []string // exits of a serving process that the soak did not cause
}

// newInstance prepares instance n, on free loopback addresses, and its
// client; start starts it.
func newInstance(n int, bin, dbURL, logPath string) (*instance, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	admin, err := freeAddr()
	if err != nil {
		return nil, err
	}
	in := &instance{n: n, bin: bin, dbURL: dbURL, addr: addr, admin: admin, logPath: logPath}
	// Reconnect quickly: an instance comes back a second or two after a kill.
	fast := grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6,
		Jitter: 0.2, MaxDelay: time.Second}, MinConnectTimeout: 2 * time.Second}
	in.conn, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(fast))
	if err != nil {
		return nil, err
	}
	in.acct, in.pay = ledgerv1.NewAccountServiceClient(in.conn), ledgerv1.NewPaymentServiceClient(in.conn)
	in.promo, in.audit = ledgerv1.NewPromoServiceClient(in.conn), ledgerv1.NewAuditServiceClient(in.conn)
	in.health = healthpb.NewHealthClient(in.conn)
	return in, nil
}

func (in *instance) String() string { return fmt.Sprintf("ledgerd %d", in.n) }

// start starts the process and returns once it serves. A process that
// exits before it serves (the database was down when it migrated), or
// does not serve within a minute, is started again, as a supervisor
// would, until ctx ends.
func (in *instance) start(ctx context.Context) error {
	for {
		err := in.launch()
		if err == nil {
			err = in.waitServing(ctx, time.Minute)
		}
		if err == nil {
			return nil
		}
		in.kill()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last: %v)", in, ctx.Err(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// launch runs the binary, its output appended to the instance's log.
func (in *instance) launch() error {
	log, err := os.OpenFile(in.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(in.bin, "--database-url", in.dbURL, "--listen", in.addr, "--admin-listen", in.admin,
		"--plaintext", "--seal-interval", "100ms")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a terminal's Ctrl-C is for the soak
	fmt.Fprintf(log, "\n==== soak: starting %s at %s\n", in, time.Now().Format(time.RFC3339Nano))
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	exited := make(chan struct{})
	in.mu.Lock()
	in.cmd, in.exited, in.ending, in.serving = cmd, exited, false, false
	in.starts++
	in.mu.Unlock()
	go func() {
		err := cmd.Wait()
		log.Close()
		in.mu.Lock()
		if in.serving && !in.ending {
			in.surprises = append(in.surprises, fmt.Sprintf("%s exited by itself while serving: %v (see %s)", in, err, in.logPath))
		}
		in.serving = false
		in.mu.Unlock()
		close(exited)
	}()
	return nil
}

// waitServing polls health until the payment service is SERVING, the
// process exits, limit passes or ctx ends.
func (in *instance) waitServing(ctx context.Context, limit time.Duration) error {
	in.mu.Lock()
	exited := in.exited
	in.mu.Unlock()
	deadline := time.Now().Add(limit)
	req := &healthpb.HealthCheckRequest{Service: ledgerv1.PaymentService_ServiceDesc.ServiceName}
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		res, err := in.health.Check(cctx, req)
		cancel()
		if err == nil && res.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			in.mu.Lock()
			in.serving = true
			in.mu.Unlock()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited before serving", in)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not serving after %v", in, limit)
		}
	}
}

// kill sends SIGKILL, as the OOM killer or a power cut would, and waits
// for the process to be reaped.
func (in *instance) kill() error { return in.end(syscall.SIGKILL, 30*time.Second) }

// stop asks the process to shut down cleanly, and kills it if it has not
// within 30 seconds.
func (in *instance) stop() error {
	if err := in.end(syscall.SIGTERM, 30*time.Second); err != nil {
		return in.kill()
	}
	return nil
}

// end sends sig and waits up to limit for the process to exit.
func (in *instance) end(sig syscall.Signal, limit time.Duration) error {
	in.mu.Lock()
	cmd, exited := in.cmd, in.exited
	if cmd == nil {
		in.mu.Unlock()
		return nil
	}
	in.ending = true
	in.mu.Unlock()
	select {
	case <-exited:
		return nil
	default:
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-exited:
		return nil
	case <-time.After(limit):
		return fmt.Errorf("%s still running %v after %v", in, limit, sig)
	}
}

// isServing reports whether the process was serving when last seen.
func (in *instance) isServing() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.serving
}

// Close ends the process and the client.
func (in *instance) Close() error {
	err := in.stop()
	return errors.Join(err, in.conn.Close())
}
