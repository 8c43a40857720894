// Package soak is ledger-soak: a fault soak of the whole ledger. It starts
// a PostgreSQL (or uses one it is given) and several ledgerd processes on
// it, each reaching the database through a TCP proxy of the soak's that
// can slow or cut its connections, and drives a reconciling bank workload
// over gRPC across all of them (transfers, ATM withdrawals in one step or
// with holds, promo subscriptions against small quotas) while a seeded
// nemesis injects faults: an instance killed and restarted, the database
// crashed and recovered, frozen and resumed, its connections slowed or
// cut. Then it heals everything, settles every request whose outcome it
// never learned by replaying its request id, and checks the books against
// every answer the ledger gave.
package soak

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Config is what a soak does. Zero values mean the defaults.
type Config struct {
	// Duration is how long the workload runs under faults; 60s by default.
	Duration time.Duration
	// Seed draws the workload and the faults; a run's report names it, so
	// that a failing run can be replayed. 0 picks one from the clock.
	Seed uint64
	// Instances is how many ledgerd run at once; 3 by default.
	Instances int
	// Workers is how many clients send requests at once; 8 by default.
	Workers int
	// Accounts is how many customers the bank has; 48 by default.
	Accounts int
	// FaultEvery is the mean pause between one fault healed and the next
	// injected (drawn uniformly from half to one and a half times it);
	// 1.5s by default, which with the faults' own length makes about one
	// fault every five seconds.
	FaultEvery time.Duration
	// Faults are the kinds to inject (FaultKinds); every kind the setup
	// allows by default. The database's crash and freeze need the soak's
	// own database.
	Faults []string
	// NoFaults runs the workload without a nemesis, as a control.
	NoFaults bool
	// DatabaseURL is a PostgreSQL or CockroachDB to use instead of the
	// soak's own, over TCP; it must hold no ledger yet.
	DatabaseURL string
	// Ledgerd is the ledgerd binary; empty builds cmd/ledgerd from this
	// module, with BuildTags.
	Ledgerd   string
	BuildTags string
	// Dir holds the database, the binary and the instances' logs; a new
	// directory under /tmp by default, removed after a passing run unless
	// Keep.
	Dir  string
	Keep bool
	// Logf receives progress; nothing by default.
	Logf func(format string, args ...any)
}

func (c *Config) setDefaults() {
	if c.Duration <= 0 {
		c.Duration = time.Minute
	}
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	if c.Instances <= 0 {
		c.Instances = 3
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.Accounts < 2 {
		c.Accounts = 48
	}
	if c.FaultEvery <= 0 {
		c.FaultEvery = 1500 * time.Millisecond
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// Soak is one run: what it started, and what it saw.
type Soak struct {
	cfg       Config
	dir       string
	ownDir    bool
	db        *database
	proxies   []*proxy
	instances []*instance
	rec       *recorder
	world     *world
	nemesis   *nemesis
}

// New prepares a soak; Run runs it and Close cleans up.
func New(cfg Config) *Soak {
	cfg.setDefaults()
	return &Soak{cfg: cfg, rec: newRecorder(), world: newWorld(cfg.Accounts)}
}

func (s *Soak) logf(format string, args ...any) { s.cfg.Logf(format, args...) }

// Run starts everything, runs the workload under faults for the
// configured duration, heals, settles, checks and reports. An error means
// the soak itself could not run; a run whose checks fail returns a report
// whose Passed is false.
func (s *Soak) Run(ctx context.Context) (*Report, error) {
	faults, err := s.faultKinds()
	if err != nil {
		return nil, err
	}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	if err := s.setup(ctx); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}

	s.logf("seed %d: %d workers for %v across %d instances; faults: %v", s.cfg.Seed, s.cfg.Workers, s.cfg.Duration,
		len(s.instances), faults)
	began := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for n := range s.cfg.Workers {
		w := &worker{caller: caller{rec: s.rec, instances: s.instances, rng: rand.New(rand.NewPCG(s.cfg.Seed, uint64(n+1)))},
			n: n, world: s.world}
		wg.Go(func() { w.run(ctx, stop) })
	}
	s.nemesis = &nemesis{s: s, rng: rand.New(rand.NewPCG(s.cfg.Seed, 0)), kinds: faults, every: s.cfg.FaultEvery, start: began}
	nctx, stopFaults := context.WithTimeout(ctx, s.cfg.Duration)
	defer stopFaults()
	var faultsDone sync.WaitGroup
	if len(faults) > 0 {
		faultsDone.Go(func() { s.nemesis.run(nctx) })
	}
	<-nctx.Done()
	close(stop)
	faultsDone.Wait()
	s.logf("%v up: no new requests; healing, and waiting for requests in flight", time.Since(began).Round(time.Second))
	if err := s.heal(ctx); err != nil {
		return nil, err
	}
	wg.Wait()
	ran := time.Since(began)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	settled := s.settle(ctx)
	checks := s.check(ctx)
	return s.report(ran, faults, settled, checks), nil
}

// faultKinds returns the kinds to inject: those asked for, or every kind
// the database allows.
func (s *Soak) faultKinds() ([]string, error) {
	if s.cfg.NoFaults {
		return nil, nil
	}
	own := s.cfg.DatabaseURL == ""
	if len(s.cfg.Faults) == 0 {
		for _, k := range FaultKinds {
			if own || (k != FaultDBCrash && k != FaultDBFreeze) {
				s.cfg.Faults = append(s.cfg.Faults, k)
			}
		}
	}
	for _, k := range s.cfg.Faults {
		switch {
		case !slices.Contains(FaultKinds, k):
			return nil, fmt.Errorf("unknown fault kind %q (kinds: %v)", k, FaultKinds)
		case !own && (k == FaultDBCrash || k == FaultDBFreeze):
			return nil, fmt.Errorf("fault %s needs the soak's own database, not --database-url", k)
		}
	}
	return s.cfg.Faults, nil
}

// start makes the directory, the database, the binary, the proxies and
// the instances, and waits until every instance serves.
func (s *Soak) start(ctx context.Context) error {
	s.dir = s.cfg.Dir
	if s.dir == "" {
		// Short, under /tmp: the database's unix socket lives in it.
		dir, err := os.MkdirTemp("/tmp", "soak")
		if err != nil {
			return err
		}
		s.dir, s.ownDir = dir, true
	} else if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(s.dir, 0o755); err != nil { // the postgres user must reach the database in it
		return err
	}
	bin, err := s.binary(ctx)
	if err != nil {
		return err
	}
	if s.db, err = openDatabase(ctx, s.dir, s.cfg.DatabaseURL, s.logf); err != nil {
		return err
	}
	for n := range s.cfg.Instances {
		p, err := newProxy(s.db.addr)
		if err != nil {
			return err
		}
		s.proxies = append(s.proxies, p)
		url, err := viaProxy(s.db.url, p.Addr())
		if err != nil {
			return err
		}
		in, err := newInstance(n, bin, url, filepath.Join(s.dir, fmt.Sprintf("ledgerd-%d.log", n)))
		if err != nil {
			return err
		}
		s.instances = append(s.instances, in)
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, in := range s.instances {
		g.Go(func() error { return s.restart(gctx, in) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	s.logf("%d instances serving (logs in %s)", len(s.instances), s.dir)
	return nil
}

// restart starts in and waits until it serves, for at most two minutes.
func (s *Soak) restart(ctx context.Context, in *instance) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return in.start(ctx)
}

// binary returns the ledgerd to run: the one configured, or one built
// from this module into the soak's directory.
func (s *Soak) binary(ctx context.Context) (string, error) {
	if s.cfg.Ledgerd != "" {
		return filepath.Abs(s.cfg.Ledgerd)
	}
	bin := filepath.Join(s.dir, "ledgerd")
	args := []string{"build", "-o", bin}
	if s.cfg.BuildTags != "" {
		args = append(args, "-tags", s.cfg.BuildTags)
	}
	s.logf("go %v github.com/corebanking/ledger/cmd/ledgerd", args)
	out, err := exec.CommandContext(ctx, "go", append(args, "github.com/corebanking/ledger/cmd/ledgerd")...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build ledgerd (run from within the module, or pass --ledgerd): %w\n%s", err, out)
	}
	return bin, nil
}

// heal ends every fault: the database running and thawed, no proxy
// slowing or refusing, every instance serving.
func (s *Soak) heal(ctx context.Context) error {
	if s.db.embedded() {
		if !s.db.running() {
			if err := s.db.start(ctx); err != nil {
				return err
			}
		}
		_ = s.db.thaw() // not frozen: nothing to do
	}
	for _, p := range s.proxies {
		p.heal()
	}
	if err := s.db.waitUp(ctx); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, in := range s.instances {
		if !in.isServing() {
			g.Go(func() error { return s.restart(gctx, in) })
		}
	}
	return g.Wait()
}

// Close stops the instances, the proxies and the database, and removes
// the directory the soak made, unless it was asked to keep it or failed
// is true.
func (s *Soak) Close(failed bool) error {
	var errs []error
	for _, in := range s.instances {
		errs = append(errs, in.Close())
	}
	for _, p := range s.proxies {
		errs = append(errs, p.Close())
	}
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	if s.ownDir && !s.cfg.Keep && !failed {
		errs = append(errs, os.RemoveAll(s.dir))
	} else if s.dir != "" {
		s.logf("kept %s", s.dir)
	}
	return errors.Join(errs...)
}
