// Package bench measures the ledger's transfer throughput through gRPC and,
// in the same run and on the same PostgreSQL, pgbench's throughput for the
// same work written as bare SQL: the database's own ceiling. The ratio of
// the two says how much of that ceiling the ledger reaches.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"google.golang.org/grpc"

	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgserver"
)

// Config is what one benchmark does. Zero values mean the defaults shown.
type Config struct {
	// Duration is how long each phase (ledger, then pgbench) of a run lasts; 20s.
	Duration time.Duration
	// Clients is the number of concurrent callers, and pgbench's -c; 32.
	Clients int
	// Accounts is how many customer accounts the ledger transfers between; 10000.
	Accounts int
	// Runs is how many ledger+pgbench runs to make; the report shows each and the median; 3.
	Runs int
	// DatabaseURL is an existing database for the ledger; empty starts a
	// throwaway PostgreSQL with databases "ledger" and "pgbench".
	DatabaseURL string
	// PgbenchURL is the database pgbench initialises (pgbench -i drops and
	// recreates its tables there). With DatabaseURL set and this empty,
	// pgbench is skipped.
	PgbenchURL string
	// PgbenchScript is the transfer script pgbench runs;
	// "../shared/bench/pgbench-transfer.sql".
	PgbenchScript string
	// JSONPath, when set, receives the report as JSON too ("-": standard output).
	JSONPath string
	// CPUProfile, when set, receives a CPU profile of this process (ledgerd
	// and the load generator) over all the runs.
	CPUProfile string
	// AllocProfile, when set, receives this process's allocations, from its
	// start to the end of the runs (pprof's allocs profile).
	AllocProfile string
	// SealerOff runs ledgerd without its journal sealer, to measure what
	// sealing costs transfers.
	SealerOff bool
	// SealerPaired runs each run's phase of one Transfer a call twice on
	// the one server, with the sealer on and with it paused, in an order
	// that alternates from run to run, so that the two are measured
	// seconds apart; the backlog of the paused phase is sealed before the
	// next phase starts. Ignored with SealerOff.
	SealerPaired bool
	// SealerWindow, when set, has each run's phase of one Transfer a call
	// alternate the sealer on and paused in windows of this length, and
	// say what it cost in each (sealerWindows). Ignored with SealerOff and
	// SealerPaired.
	SealerWindow time.Duration
	// SealerInterval, when set, overrides the sealer's pause between polls
	// once caught up (ledgerd.SealerConfig.Interval).
	SealerInterval time.Duration
	// SQLOff skips the SQL phase (sqlphase.go), which runs only on the
	// throwaway server.
	SQLOff bool
	// MoveBatch, when set, overrides the most moves one transaction of
	// ledgerd's group commit carries (cockroach.Options.MoveBatch); 1
	// turns batching off, to measure what it gives.
	MoveBatch int
	// MoveLanes, when set, overrides how many such transactions run at
	// once (cockroach.Options.MoveLanes).
	MoveLanes int
	// Batch, when set, adds to each run a phase in which the same clients
	// each submit batches of Batch transfers (SubmitBatch), after the
	// phase of one Transfer a call.
	Batch int
	// Limits override ledgerd's compartment limits, each
	// COMPARTMENT.FIELD=VALUE as ledgerd --limit takes them.
	Limits []string
	// Command is the command line, for the report.
	Command []string
	// Out receives the report; os.Stdout by default.
	Out io.Writer
	// Log receives progress; os.Stderr by default.
	Log io.Writer
}

func (c *Config) defaults() {
	if c.SealerOff || c.SealerPaired {
		c.SealerWindow = 0
	}
	if c.Duration <= 0 {
		c.Duration = 20 * time.Second
	}
	if c.Clients <= 0 {
		c.Clients = 32
	}
	if c.Accounts < 2 {
		c.Accounts = 10000
	}
	if c.Runs <= 0 {
		c.Runs = 3
	}
	if c.PgbenchScript == "" {
		c.PgbenchScript = "../shared/bench/pgbench-transfer.sql"
	}
	if c.Out == nil {
		c.Out = os.Stdout
	}
	if c.Log == nil {
		c.Log = os.Stderr
	}
}

// Main is one benchmark and everything it started.
type Main struct {
	cfg      Config
	tmp      string           // throwaway directory holding the server's data
	witness  string           // the sealer's witness directory, removed by Close
	pg       *pgserver.Server // the throwaway server, if we started one
	ledger   *ledgerd.Main    // the in-process ledger server
	conns    []*grpc.ClientConn
	ledgerDB string   // URL of the ledger's database
	pgbench  *pgbench // nil when pgbench is skipped
	sql      *pgbench // the SQL phase; nil when it is skipped
	accounts []string
}

// New returns a benchmark for cfg; Run runs it and Close cleans up after it.
func New(cfg Config) *Main {
	cfg.defaults()
	return &Main{cfg: cfg}
}

// Run starts the databases and the ledger, opens the accounts, runs the
// phases and writes the report. When ctx ends early, the runs completed so
// far are still reported.
func (m *Main) Run(ctx context.Context) error {
	if err := m.setup(ctx); err != nil {
		return err
	}
	rep := &Report{Command: m.cfg.Command, Config: reportConfig(m.cfg)}
	rep.Machine = probeMachine(ctx, m.ledgerDB, m.pgbench)
	if m.pgbench != nil {
		rep.PgbenchCommand = m.pgbench.command(m.cfg.Clients, m.cfg.Duration)
	}
	if m.sql != nil {
		rep.SQLCommand = m.sql.command(m.cfg.Clients, m.cfg.Duration)
	}
	stopProfile, err := m.startProfile()
	if err != nil {
		return err
	}
	for i := 1; i <= m.cfg.Runs; i++ {
		r, err := m.run(ctx, i)
		if err != nil {
			err = fmt.Errorf("run %d: %w", i, err)
			if len(rep.Runs) > 0 {
				err = errors.Join(err, m.write(rep.finish()))
			}
			return errors.Join(err, stopProfile())
		}
		rep.Runs = append(rep.Runs, r)
	}
	return errors.Join(stopProfile(), m.write(rep.finish()))
}

// run is one ledger phase (two with Config.SealerPaired), then the batch,
// pgbench and SQL phases that are on.
func (m *Main) run(ctx context.Context, n int) (Run, error) {
	r := Run{N: n}
	var err error
	var db pendingDB
	paired := m.cfg.SealerPaired && m.ledger.Sealer != nil
	if paired && n%2 == 0 { // even runs pause the sealer first
		if err := m.sealerPausedPhase(ctx, n, &r); err != nil {
			return r, err
		}
	}
	m.logf("run %d/%d: ledger, %d clients for %v", n, m.cfg.Runs, m.cfg.Clients, m.cfg.Duration)
	if r.Ledger, db, err = m.ledgerPhase(ctx, unaryPhase); err != nil {
		return r, err
	}
	if r.Ledger.SealCatchUpSec, err = m.catchUp(ctx); err != nil {
		return r, err
	}
	m.logf("run %d/%d: ledger %.1f transfers/s, p99 %.1fms", n, m.cfg.Runs, r.Ledger.TPS, r.Ledger.P99ms)
	if paired && n%2 == 1 {
		// The database's counts of this phase, before the paused one adds to them.
		if r.Ledger.DB, err = db.finish(ctx); err != nil {
			return r, err
		}
		db = pendingDB{}
		if err := m.sealerPausedPhase(ctx, n, &r); err != nil {
			return r, err
		}
	}
	if p := r.SealerPaused; p != nil && p.TPS > 0 {
		r.SealerCost = 1 - r.Ledger.TPS/p.TPS
	}
	if m.cfg.Batch > 0 {
		m.logf("run %d/%d: ledger batches, %d clients submitting %d transfers a call for %v", n, m.cfg.Runs,
			m.cfg.Clients, m.cfg.Batch, m.cfg.Duration)
		b, _, err := m.ledgerPhase(ctx, batchPhase(m.cfg.Batch))
		if err != nil {
			return r, err
		}
		if b.SealCatchUpSec, err = m.catchUp(ctx); err != nil {
			return r, err
		}
		r.Batch = &b
		m.logf("run %d/%d: ledger batches %.1f transfers/s, p99 %.1fms a batch", n, m.cfg.Runs, b.TPS, b.P99ms)
	}
	if err := m.pgbenchPhase(ctx, &r); err != nil {
		return r, err
	}
	if err := m.sqlPhase(ctx, &r); err != nil {
		return r, err
	}
	if db.url != "" { // read after pgbench, which gives the ledger's idle backends time to publish
		r.Ledger.DB, err = db.finish(ctx)
	}
	return r, err
}

// sealerPausedPhase is the phase of one Transfer a call again, with the
// sealer paused (Config.SealerPaired). The backlog it leaves is sealed,
// and the database's counts published, before anything else runs.
func (m *Main) sealerPausedPhase(ctx context.Context, n int, r *Run) error {
	m.logf("run %d/%d: ledger with the sealer paused, %d clients for %v", n, m.cfg.Runs, m.cfg.Clients, m.cfg.Duration)
	m.ledger.PauseSealer()
	res, db, err := m.ledgerPhase(ctx, unaryPhase)
	m.ledger.ResumeSealer(ctx)
	if err != nil {
		return err
	}
	if res.SealCatchUpSec, err = m.catchUp(ctx); err != nil {
		return err
	}
	// Its database counts, published before the next phase starts.
	if res.DB, err = db.finish(ctx); err != nil {
		return err
	}
	r.SealerPaused = &res
	m.logf("run %d/%d: ledger with the sealer paused %.1f transfers/s; its backlog sealed in %.1fs", n, m.cfg.Runs,
		res.TPS, res.SealCatchUpSec)
	return nil
}

// catchUp waits until the sealer has sealed every entry a phase left, so
// that no phase pays for the one before it, and returns how long that took.
func (m *Main) catchUp(ctx context.Context) (float64, error) {
	if m.ledger.Sealer == nil {
		return 0, nil
	}
	start := time.Now()
	if err := m.ledger.Sealer.WaitSealed(ctx, 100*time.Millisecond); err != nil {
		return 0, err
	}
	return time.Since(start).Seconds(), nil
}

// pgbenchPhase runs pgbench, when it runs at all, and sets the run's ratio.
func (m *Main) pgbenchPhase(ctx context.Context, r *Run) error {
	if m.pgbench == nil {
		return nil
	}
	pr, err := m.runPgbench(ctx, r.N, m.pgbench, "pgbench")
	if err != nil {
		return err
	}
	r.Pgbench = pr
	if pr.TPS > 0 {
		r.Ratio = r.Ledger.TPS / pr.TPS
		if r.Batch != nil {
			r.BatchRatio = r.Batch.TPS / pr.TPS
		}
	}
	return nil
}

// runPgbench is one phase of run n in which p runs; what names it in the log.
func (m *Main) runPgbench(ctx context.Context, n int, p *pgbench, what string) (*PgbenchResult, error) {
	m.logf("run %d/%d: %s, %d clients for %v", n, m.cfg.Runs, what, m.cfg.Clients, m.cfg.Duration)
	if err := checkpoint(ctx, p.url); err != nil {
		m.logf("checkpoint: %v", err)
	}
	pr, err := p.run(ctx, m.cfg.Clients, m.cfg.Duration)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	m.logf("run %d/%d: %s %.1f transactions/s", n, m.cfg.Runs, what, pr.TPS)
	return &pr, nil
}

func (m *Main) startProfile() (stop func() error, err error) {
	stopCPU := func() error { return nil }
	if m.cfg.CPUProfile != "" {
		f, err := os.Create(m.cfg.CPUProfile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		stopCPU = func() error { pprof.StopCPUProfile(); return f.Close() }
	}
	return func() error {
		if err := stopCPU(); err != nil || m.cfg.AllocProfile == "" {
			return err
		}
		f, err := os.Create(m.cfg.AllocProfile)
		if err != nil {
			return err
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}, nil
}

// write prints the report, and writes it as JSON when asked.
func (m *Main) write(rep *Report) error {
	if m.cfg.JSONPath == "-" {
		return rep.WriteJSON(m.cfg.Out)
	}
	if err := rep.WriteText(m.cfg.Out); err != nil {
		return err
	}
	if m.cfg.JSONPath == "" {
		return nil
	}
	f, err := os.Create(m.cfg.JSONPath)
	if err != nil {
		return err
	}
	return errors.Join(rep.WriteJSON(f), f.Close())
}

// Close stops the ledger and the database and removes the throwaway
// directory. It is safe after a failed or interrupted Run.
func (m *Main) Close() error {
	var errs []error
	for _, c := range m.conns {
		errs = append(errs, c.Close())
	}
	m.conns = nil
	if m.ledger != nil {
		errs = append(errs, m.ledger.Close())
		m.ledger = nil
	}
	if m.pg != nil {
		errs = append(errs, m.pg.Stop())
		m.pg = nil
	}
	for _, dir := range []*string{&m.tmp, &m.witness} {
		if *dir != "" {
			errs = append(errs, os.RemoveAll(*dir))
			*dir = ""
		}
	}
	return errors.Join(errs...)
}

func (m *Main) logf(format string, args ...any) {
	fmt.Fprintf(m.cfg.Log, "ledger-bench: "+format+"\n", args...)
}

// absScript resolves the pgbench script against the working directory, so
// the report shows where it came from, and checks it is there.
func absScript(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("pgbench script: %w (set --pgbench-script)", err)
	}
	return abs, nil
}
