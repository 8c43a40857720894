// Package ledgerd is the ledger server program: it finds or starts its
// database, migrates it, and serves the ledger over gRPC. cmd/ledgerd only
// parses flags and calls it, so tests run the real program in-process.
package ledgerd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"

	"github.com/corebanking/ledger/internal/server"
	"github.com/corebanking/ledger/internal/witness"
	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// Config is what the program needs to start. Zero values mean defaults.
type Config struct {
	// Listen is the gRPC address (server.Config.Listen).
	Listen string
	// AdminListen is the metrics and health address (server.Config.AdminListen).
	AdminListen string
	// AdminPublic allows an AdminListen that other machines can reach
	// (server.Config.AdminPublic).
	AdminPublic bool
	// DatabaseURL is the CockroachDB or PostgreSQL to use. When empty, the
	// program starts its own PostgreSQL in DataDir.
	DatabaseURL string
	// DataDir holds the embedded database; "ledger-data" by default.
	DataDir string
	// Isolation divides traffic into compartments; DefaultIsolation() when nil.
	Isolation *Isolation
	// BulkheadsOff runs every method through one shared compartment and one
	// shared pool: the naive design, kept only to measure the difference.
	BulkheadsOff bool
	// MaxConns, when set, overrides the pool size and worker slots of the
	// routine and shared compartments (benchmarks size them to their clients).
	MaxConns int32
	// Logger receives the program's log; slog.Default() by default.
	Logger *slog.Logger
	// Now is the ledger's clock; time.Now by default. Tests move it.
	Now func() time.Time
	// Plaintext serves without TLS (server.Config.Plaintext): for
	// development and peer tools, on a loopback address only.
	Plaintext bool
	// TLSCert, TLSKey and TLSClientCA are the PEM files of production
	// mutual TLS: the server's certificate and key, and the CAs that sign
	// client certificates; TrustDomain is then required. When they are
	// empty and Plaintext is false, development certificates are made in
	// TLSDir ("<DataDir>-tls" by default: beside the embedded
	// PostgreSQL's directory, which PostgreSQL owns) and used.
	TLSCert, TLSKey, TLSClientCA string
	TLSDir                       string
	// TrustDomain is that of the callers' SPIFFE IDs;
	// identity.DefaultTrustDomain for development certificates.
	TrustDomain string
	// StoreOptions, if set, may change the store options of each
	// compartment; fault-injection tests use it to slow one compartment's
	// database work.
	StoreOptions func(compartment string, opt *cockroach.Options)
	// RolePasswords holds the password of each database role the program
	// logs in as (cockroach.RoleWriter, RoleSealer, RoleAuditor); none is
	// needed where the server trusts local connections, as the embedded
	// PostgreSQL does.
	RolePasswords map[string]string
	// Sealer configures this process's journal sealer.
	Sealer SealerConfig
	// Payer configures this process's payer of matured promo subscriptions.
	Payer PayerConfig
	// JournalKey is the private key file that signs the journal's
	// checkpoints (ledgerctl journal keygen); see journalSigner for what
	// is used without one.
	JournalKey string
	// WitnessDir, when set, is where the sealer appends every checkpoint
	// it signs, to a file that a bank ships outside the database's reach
	// (internal/witness).
	WitnessDir string
	// Restart bounds how the embedded PostgreSQL is restarted when it
	// exits on its own.
	Restart RestartPolicy
	// Tracing exports spans of every call and its statements over OTLP;
	// off unless it names an endpoint.
	Tracing TracingConfig
}

// SealerConfig configures the journal sealer. Every ledgerd runs one unless
// told not to; the lease keeps one active per database.
type SealerConfig struct {
	// Off runs no sealer here: for a replica that only serves, or to
	// measure what sealing costs the online path.
	Off bool
	// Interval is the pause between polls once caught up (cockroach.SealerOptions).
	Interval time.Duration
	// LeaseTTL is how long the lease lasts unless renewed.
	LeaseTTL time.Duration
	// Holder names this sealer in the lease and the records; host, pid and
	// a random suffix by default.
	Holder string
	// CheckpointInterval is the least time between two signed checkpoints
	// (cockroach.SealerOptions); 5s by default.
	CheckpointInterval time.Duration
}

// PayerConfig configures the payer of matured promo subscriptions. Every
// ledgerd runs one unless told not to; the lease keeps one active per
// database. It works in a compartment of its own: its own goroutine and
// its own connections, so that a wave of payouts never takes a routine
// call's slot or connection.
type PayerConfig struct {
	// Off runs no payer here.
	Off bool
	// Interval is the pause between polls once nothing is due; 1s by default.
	Interval time.Duration
	// LeaseTTL is how long the lease lasts unless renewed; 5s by default.
	LeaseTTL time.Duration
	// Batch is the most subscriptions one transaction pays; 250 by default.
	Batch int
	// Holder names this payer in the lease; host, pid and a random suffix
	// by default.
	Holder string
}

// Main is a running ledger server and what it started.
type Main struct {
	cfg        Config
	pg         *embedded // nil on an external database
	pools      []*pgxpool.Pool
	stopSealer func() // cancels the sealer and waits for it
	sealerMet  *sealerMetrics
	stopPayer  func() // cancels the payer and waits for it
	payerMet   *payerMetrics
	witness    *witness.Witness
	stores     map[string]*cockroach.Store // the compartments' stores, by name
	pageKey    []byte                      // authenticates statement page tokens, the same in every store
	tracer     trace.TracerProvider        // nil when tracing is off
	stopTracer func(context.Context) error
	Server     *server.Server
	// Sealer is this process's journal sealer; nil when Config.Sealer.Off.
	Sealer *cockroach.Sealer
	// Payer is this process's payer of matured subscriptions; nil when
	// Config.Payer.Off.
	Payer *cockroach.Payer
}

// Run starts the database (when embedded), migrates it and starts serving.
// It returns once the server accepts calls; Close stops everything.
func Run(ctx context.Context, cfg Config) (m *Main, err error) {
	if cfg.DataDir == "" {
		cfg.DataDir = "ledger-data"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m = &Main{cfg: cfg}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()

	url := cfg.DatabaseURL
	if url == "" {
		// First of all: a second ledgerd on this directory stops here.
		if m.pg, err = lockEmbedded(cfg.DataDir, cfg.Restart, cfg.Logger); err != nil {
			return m, err
		}
	}
	tlsCfg, err := cfg.transport()
	if err != nil {
		return m, err
	}
	if m.tracer, m.stopTracer, err = startTracing(ctx, cfg.Tracing); err != nil {
		return m, err
	}
	if m.pg != nil {
		if url, err = m.startEmbedded(ctx); err != nil {
			return m, err
		}
	}
	iso := cfg.isolation()
	if err = iso.validate(); err != nil {
		return m, err
	}

	if m.pageKey, err = migrate(ctx, url, cfg.Logger); err != nil {
		return m, err
	}
	compartments, def, journal, err := m.openCompartments(ctx, url, iso)
	if err != nil {
		return m, err
	}
	journalKey, err := m.startSealer(ctx, url)
	if err != nil {
		return m, err
	}
	if err := m.startPayer(ctx, url); err != nil {
		return m, err
	}
	probe, err := m.databaseProbe(ctx, url)
	if err != nil {
		return m, err
	}
	m.Server, err = server.Start(server.Config{
		TLS: tlsCfg, Plaintext: cfg.Plaintext, JournalKey: journalKey, Probe: probe, Tracer: m.tracer,
		Listen: cfg.Listen, AdminListen: cfg.AdminListen, AdminPublic: cfg.AdminPublic, Logger: cfg.Logger, Now: cfg.Now,
		Ledger: def, Journal: journal, Compartments: compartments, Methods: iso.Methods, Bulkheads: !cfg.BulkheadsOff,
	})
	if err == nil {
		err = m.registerMetrics()
	}
	if err == nil && m.pg != nil {
		m.pg.onChange(m.Server.ProbeNow)
	}
	return m, err
}

// startEmbedded starts the embedded PostgreSQL and returns the URL of the
// ledger's database, as its owner.
func (m *Main) startEmbedded(ctx context.Context) (string, error) {
	if err := m.pg.start(ctx); err != nil {
		return "", err
	}
	pg := m.pg.server()
	if err := pg.CreateDatabase(ctx, "ledger"); err != nil {
		return "", err
	}
	// Migrations run as an owner that is no superuser, whom the
	// journal's append-only triggers bind.
	if err := pg.EnsureOwner(ctx, "ledger", cockroach.RoleOwner); err != nil {
		return "", err
	}
	return pg.URLAs("ledger", cockroach.RoleOwner), nil
}

// registerMetrics adds the stores' group commit, the sealer's and the
// payer's metrics to the server's registry.
func (m *Main) registerMetrics() error {
	if err := m.Server.Registry.Register(newMoveMetrics(m.stores)); err != nil {
		return err
	}
	if m.sealerMet != nil {
		if err := m.Server.Registry.Register(m.sealerMet); err != nil {
			return err
		}
	}
	if m.payerMet != nil {
		return m.Server.Registry.Register(m.payerMet)
	}
	return nil
}

// isolation is the compartments and method map to run: the configured or
// default ones, with --max-conns and --bulkheads=off applied.
func (cfg Config) isolation() Isolation {
	iso := DefaultIsolation()
	if cfg.Isolation != nil {
		iso = cfg.Isolation.clone()
	}
	if n := cfg.MaxConns; n > 0 {
		iso.Shared.PoolSize, iso.Shared.MaxConcurrent = n, int(n)
		if l, ok := iso.Compartments["routine"]; ok {
			l.PoolSize, l.MaxConcurrent = n, int(n)
			iso.Compartments["routine"] = l
		}
	}
	if cfg.BulkheadsOff {
		iso = iso.shared()
	}
	return iso
}

// openCompartments opens each compartment's pool and store, on the
// read-only role for a read-only one, and returns their configurations,
// the default ledger, and the journal that AuditService reads.
func (m *Main) openCompartments(ctx context.Context, url string, iso Isolation) (
	compartments []server.CompartmentConfig, def ledger.Ledger, journal ledger.Journal, err error) {
	m.stores = map[string]*cockroach.Store{}
	for _, name := range iso.names() {
		l := iso.Compartments[name]
		role := cockroach.RoleWriter
		if l.ReadOnly {
			role = cockroach.RoleAuditor // a write routed here is refused by the database
		}
		store, pool, err := m.openStore(ctx, url, role, name, l)
		if err != nil {
			return nil, nil, nil, err
		}
		m.stores[name] = store
		switch {
		case l.ReadOnly && (journal == nil || name == "audit"):
			journal = store
		case !l.ReadOnly && (def == nil || name == "routine"):
			def = store
		}
		compartments = append(compartments, server.CompartmentConfig{
			Settings:      l.settings(name),
			Ledger:        store,
			Promotions:    store,
			Journal:       journalOf(store, l.ReadOnly),
			MaxBatchItems: l.MaxBatchItems,
			Pool: func() (int32, int32) {
				st := pool.Stat()
				return st.MaxConns(), st.AcquiredConns()
			},
		})
	}
	if journal == nil { // no read-only compartment (bulkheads off): audit reads still get the read-only role
		if journal, _, err = m.openStore(ctx, url, cockroach.RoleAuditor, "audit", auditorLimits); err != nil {
			return nil, nil, nil, err
		}
	}
	return compartments, def, journal, nil
}

// journalOf is store as a read-only compartment's journal, or nil.
func journalOf(store *cockroach.Store, readOnly bool) ledger.Journal {
	if !readOnly {
		return nil
	}
	return store
}

// Fatal delivers the error that stops the program while it serves: the
// embedded PostgreSQL exited and could not be restarted. It never
// delivers on an external database.
func (m *Main) Fatal() <-chan error {
	if m.pg == nil {
		return nil
	}
	return m.pg.fatal
}

// MoveStats reports group commit's counters in compartment's store; all
// zero for a compartment that does not exist.
func (m *Main) MoveStats(compartment string) cockroach.MoveStats {
	if s := m.stores[compartment]; s != nil {
		return s.MoveStats()
	}
	return cockroach.MoveStats{}
}

// openStore opens a pool as role and a store on it, for compartment name.
func (m *Main) openStore(ctx context.Context, url, role, name string, l Limits) (*cockroach.Store, *pgxpool.Pool, error) {
	pool, err := openPool(ctx, url, role, m.cfg.RolePasswords[role], name, l, m.tracer)
	if err != nil {
		return nil, nil, err
	}
	m.pools = append(m.pools, pool)
	opt := cockroach.Options{Now: m.cfg.Now, Logger: m.cfg.Logger, MoveBatch: l.MoveBatch, MoveLanes: l.MoveLanes, PageKey: m.pageKey}
	if m.cfg.StoreOptions != nil {
		m.cfg.StoreOptions(name, &opt)
	}
	return cockroach.New(pool, opt), pool, nil
}

// databaseProbe returns the server's readiness probe: a round trip to the
// database on a connection of its own, so that a busy compartment's pool
// cannot make a healthy database look down.
func (m *Main) databaseProbe(ctx context.Context, url string) (func(context.Context) error, error) {
	pool, err := openPool(ctx, url, cockroach.RoleWriter, m.cfg.RolePasswords[cockroach.RoleWriter], "health", probeLimits, nil)
	if err != nil {
		return nil, err
	}
	m.pools = append(m.pools, pool)
	if m.pg == nil {
		return pool.Ping, nil
	}
	return func(ctx context.Context) error {
		if err := m.pg.check(); err != nil {
			return err
		}
		return pool.Ping(ctx)
	}, nil
}

// startSealer starts the journal sealer on its own pool, with the key that
// signs its checkpoints and the witness, unless it is off. It runs until
// Close. It returns the public key of the checkpoints.
func (m *Main) startSealer(ctx context.Context, url string) (string, error) {
	c := m.cfg.Sealer
	if c.Off {
		return "", nil
	}
	signer, publicKey, err := m.cfg.journalSigner()
	if err != nil {
		return "", err
	}
	var witnessTo func(ledger.SignedCheckpoint) error
	if m.cfg.WitnessDir != "" {
		if witnessTo, err = m.witnessFunc(m.cfg.WitnessDir); err != nil {
			return "", err
		}
	}
	store, _, err := m.openStore(ctx, url, cockroach.RoleSealer, "sealer", sealerLimits)
	if err != nil {
		return "", err
	}
	if c.Holder == "" {
		c.Holder = defaultHolder()
	}
	m.sealerMet = newSealerMetrics(m.cfg.Logger, m.now())
	m.Sealer = cockroach.NewSealer(store, cockroach.SealerOptions{Holder: c.Holder, Interval: c.Interval,
		LeaseTTL: c.LeaseTTL, Logger: m.cfg.Logger, OnSealed: m.sealerMet.observe, OnError: m.sealerMet.failed,
		Signer: signer, CheckpointInterval: c.CheckpointInterval, Witness: witnessTo})
	m.sealerMet.sealer = m.Sealer
	m.stopSealer = runBackground(ctx, m.Sealer.Run)
	m.cfg.Logger.Info("journal sealer started", "holder", c.Holder, "journal_key", publicKey)
	return publicKey, nil
}

// PauseSealer stops this process's sealer, which gives up its lease, until
// ResumeSealer: for a benchmark that measures what sealing costs, with the
// sealer on and off in turn on one server. Neither may run beside Close.
func (m *Main) PauseSealer() {
	if m.stopSealer != nil {
		m.stopSealer()
		m.stopSealer = nil
	}
}

// ResumeSealer starts again the sealer that PauseSealer stopped.
func (m *Main) ResumeSealer(ctx context.Context) {
	if m.Sealer != nil && m.stopSealer == nil {
		m.stopSealer = runBackground(ctx, m.Sealer.Run)
	}
}

// runBackground runs a background worker's run in a goroutine of its own,
// on a context that ends only when the returned stop is called, not with
// ctx (the worker runs until Close), and returns stop, which cancels that
// context and waits for run to return.
func runBackground(ctx context.Context, run func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// startPayer starts the payer of matured subscriptions on its own pool,
// unless it is off. It runs until Close.
func (m *Main) startPayer(ctx context.Context, url string) error {
	c := m.cfg.Payer
	if c.Off {
		return nil
	}
	store, _, err := m.openStore(ctx, url, cockroach.RoleWriter, payerCompartment, payerLimits)
	if err != nil {
		return err
	}
	if c.Holder == "" {
		c.Holder = defaultHolder()
	}
	m.payerMet = newPayerMetrics(m.cfg.Logger, m.now())
	m.Payer = cockroach.NewPayer(store, cockroach.PayerOptions{Holder: c.Holder, Interval: c.Interval,
		LeaseTTL: c.LeaseTTL, Batch: c.Batch, Logger: m.cfg.Logger, OnPaid: m.payerMet.observe, OnError: m.payerMet.failed})
	m.payerMet.payer = m.Payer
	m.stopPayer = runBackground(ctx, m.Payer.Run)
	m.cfg.Logger.Info("promo payer started", "holder", c.Holder)
	return nil
}

// payerCompartment names the payer's pool and store.
const payerCompartment = "payer"

// defaultHolder names this process in a lease: host, pid and a random
// suffix.
func defaultHolder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), uuid.NewString()[:8])
}

// now is the configured clock.
func (m *Main) now() func() time.Time {
	if m.cfg.Now == nil {
		return time.Now
	}
	return m.cfg.Now
}

// shared returns the naive layout: one compartment, one pool, every method.
func (iso Isolation) shared() Isolation {
	out := Isolation{Compartments: map[string]Limits{sharedCompartment: iso.Shared}, Methods: map[string]string{}, Shared: iso.Shared}
	for method := range iso.Methods {
		out.Methods[method] = sharedCompartment
	}
	return out
}

// Close drains in-flight calls (up to 15 seconds), stops the sealer and the
// payer (which give up their leases), then closes the pools and stops the embedded
// database.
func (m *Main) Close() error {
	var errs []error
	if m.Server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		errs = append(errs, m.Server.Stop(ctx))
		cancel()
	}
	if m.stopSealer != nil {
		m.stopSealer()
	}
	if m.stopPayer != nil {
		m.stopPayer()
	}
	if m.witness != nil {
		errs = append(errs, m.witness.Close())
	}
	for _, p := range m.pools {
		p.Close()
	}
	if m.pg != nil {
		errs = append(errs, m.pg.close())
	}
	if m.stopTracer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, m.stopTracer(ctx)) // flushes the spans still queued
		cancel()
	}
	return errors.Join(errs...)
}
