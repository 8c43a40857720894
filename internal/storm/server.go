package storm

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/corebanking/ledger/internal/identity"
	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgserver"
	"github.com/corebanking/ledger/ledger/cockroach"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// connsPerClass is how many gRPC connections each class's callers share;
// the promo flood gets Config.PromoConns, as it comes from many more
// phones, and the control flood uses the same ones.
var connsPerClass = map[Class]int{Routine: 2, Teller: 1}

// roleOf is the role each class's callers act as: payments and the promo
// come from channels, balance reads from tellers.
var roleOf = map[Class]identity.Role{Routine: identity.Channel, Teller: identity.Teller, Promo: identity.Channel}

// target is the ledger under storm and the connections to it.
type target struct {
	addr  string
	conns map[Class][]*grpc.ClientConn
	admin *grpc.ClientConn
	stop  func() error // stops what started the target, if anything
	// slowPromo, for an in-process ledgerd, is set during the storm: the
	// promo database is then slow (Config.PromoDBDelay).
	slowPromo *atomic.Bool
	// retries, for an in-process ledgerd, counts the transactions its
	// compartments retried after a serialization failure, by phase.
	retries *retries
	// sealer, for an in-process ledgerd, is its journal sealer.
	sealer *cockroach.Sealer
	// pid, for a ledgerd started from its binary, is its process id.
	pid int
}

// retries counts retried transactions by compartment and phase.
type retries struct {
	phase  atomic.Int32 // the phase now, set by phaseClock; setupPhase before
	counts sync.Map     // compartment name -> *[4]atomic.Int64
}

// setupPhase is where retries before the run (its setup) are counted.
const setupPhase = 3

func newRetries() *retries {
	r := &retries{}
	r.phase.Store(setupPhase)
	return r
}

// hook returns the store option that counts compartment's retries.
func (r *retries) hook(compartment string) func(int, error) {
	c, _ := r.counts.LoadOrStore(compartment, new([4]atomic.Int64))
	n := c.(*[4]atomic.Int64)
	return func(int, error) { n[r.phase.Load()].Add(1) }
}

// snapshot returns the counts of the run's phases, by compartment.
func (r *retries) snapshot() map[string][3]int64 {
	out := map[string][3]int64{}
	r.counts.Range(func(k, v any) bool {
		n := v.(*[4]atomic.Int64)
		out[k.(string)] = [3]int64{n[0].Load(), n[1].Load(), n[2].Load()}
		return true
	})
	return out
}

// dial opens every class's connections to addr, each as its class's role
// with transport's credentials (plaintext when nil); the admin connection
// acts as an operator.
func dial(addr string, transport func(identity.Role) (grpc.DialOption, error), promoConns int) (*target, error) {
	t := &target{addr: addr, conns: map[Class][]*grpc.ClientConn{}, stop: func() error { return nil }}
	open := func(role identity.Role) (*grpc.ClientConn, error) {
		creds := grpc.WithTransportCredentials(insecure.NewCredentials())
		if transport != nil {
			var err error
			if creds, err = transport(role); err != nil {
				return nil, err
			}
		}
		return grpc.NewClient(addr, creds, grpc.WithUserAgent("ledgerctl-storm"))
	}
	var err error
	if t.admin, err = open(identity.Operator); err != nil {
		return nil, err
	}
	conns := map[Class]int{Promo: promoConns}
	for c, n := range connsPerClass {
		conns[c] = n
	}
	for c, n := range conns {
		for range n {
			conn, err := open(roleOf[c])
			if err != nil {
				t.close()
				return nil, err
			}
			t.conns[c] = append(t.conns[c], conn)
		}
	}
	return t, nil
}

// conn returns one of class c's connections, spreading by n.
func (t *target) conn(c Class, n int64) *grpc.ClientConn {
	cs := t.conns[c]
	return cs[int(n%int64(len(cs)))]
}

// close closes the connections and stops the target's server, if started here.
func (t *target) close() error {
	for _, cs := range t.conns {
		for _, c := range cs {
			c.Close()
		}
	}
	if t.admin != nil {
		t.admin.Close()
	}
	return t.stop()
}

// databases hands out fresh databases on one PostgreSQL started on first
// use in a temporary directory.
type databases struct {
	logf func(format string, args ...any)
	tmp  string
	pg   *pgserver.Server
}

func (d *databases) create(ctx context.Context, name string) (string, error) {
	if d.pg == nil {
		tmp, err := os.MkdirTemp("", "storm")
		if err != nil {
			return "", err
		}
		d.tmp = tmp
		// The server runs as the postgres user when we are root and must
		// reach its data directory inside this one.
		if err := os.Chmod(tmp, 0o755); err != nil {
			return "", err
		}
		d.logf("starting PostgreSQL in %s", tmp)
		if d.pg, err = pgserver.Start(ctx, pgserver.Config{DataDir: filepath.Join(tmp, "pg")}); err != nil {
			return "", err
		}
	}
	if err := d.pg.CreateDatabase(ctx, name); err != nil {
		return "", err
	}
	return d.pg.URL(name), nil
}

// close stops PostgreSQL and removes its directory.
func (d *databases) close() error {
	if d.pg == nil {
		return nil
	}
	err := d.pg.Stop()
	if rmErr := os.RemoveAll(d.tmp); err == nil {
		err = rmErr
	}
	return err
}

// startLocal starts a ledgerd in-process on a fresh database.
func startLocal(ctx context.Context, cfg Config, newDB func(context.Context, string) (string, error), bulkheads bool, name string) (*target, error) {
	url, err := newDB(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	iso := ledgerd.DefaultIsolation()
	for _, kv := range cfg.Limits {
		if err := iso.Set(kv); err != nil {
			return nil, err
		}
	}
	slow, counted := new(atomic.Bool), newRetries()
	m, err := ledgerd.Run(ctx, ledgerd.Config{
		DatabaseURL: url, Listen: "127.0.0.1:0", AdminListen: "-",
		Isolation: &iso, BulkheadsOff: !bulkheads, Plaintext: true, // in-process, on loopback
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		StoreOptions: storeOptions(cfg.PromoDBDelay, slow, counted),
	})
	if err != nil {
		return nil, fmt.Errorf("ledgerd: %w", err)
	}
	t, err := dial(m.Server.Addr(), nil, cfg.PromoConns)
	if err != nil {
		m.Close()
		return nil, err
	}
	t.stop = m.Close
	t.slowPromo, t.retries, t.sealer = slow, counted, m.Sealer
	return t, nil
}

// storeOptions are the in-process ledgerd's store options: each
// compartment's retries counted, and the promo database slowed.
func storeOptions(delay time.Duration, slow *atomic.Bool, counted *retries) func(string, *cockroach.Options) {
	slowed := slowPromo(delay, slow)
	return func(compartment string, opt *cockroach.Options) {
		opt.OnRetry = counted.hook(compartment)
		if slowed != nil {
			slowed(compartment, opt)
		}
	}
}

// slowPromo returns store options that, while slow is set, hold each
// Subscribe transaction open for delay before its COMMIT, whichever
// compartment serves it: a promo database that the flood has slowed down.
func slowPromo(delay time.Duration, slow *atomic.Bool) func(string, *cockroach.Options) {
	if delay <= 0 {
		return nil
	}
	return func(_ string, opt *cockroach.Options) {
		opt.BeforeCommit = func(ctx context.Context, _ int) error {
			if m, _ := grpc.Method(ctx); m != ledgerv1.PromoService_Subscribe_FullMethodName || !slow.Load() {
				return nil
			}
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}
