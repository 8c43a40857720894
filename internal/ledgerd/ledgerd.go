// Package ledgerd is the ledger server program: it finds or starts its
// database, migrates it, and serves the ledger over gRPC. cmd/ledgerd only
// parses flags and calls it, so tests run the real program in-process.
package ledgerd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/corebanking/ledger/internal/pgserver"
	"github.com/corebanking/ledger/internal/server"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// Config is what the program needs to start. Zero values mean defaults.
type Config struct {
	// Listen is the gRPC address (server.Config.Listen).
	Listen string
	// AdminListen is the metrics and health address (server.Config.AdminListen).
	AdminListen string
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
}

// Main is a running ledger server and what it started.
type Main struct {
	cfg    Config
	pg     *pgserver.Server
	pools  []*pgxpool.Pool
	Server *server.Server
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

	tlsCfg, err := cfg.transport()
	if err != nil {
		return m, err
	}
	url := cfg.DatabaseURL
	if url == "" {
		cfg.Logger.Info("starting embedded PostgreSQL", "data_dir", cfg.DataDir)
		m.pg, err = pgserver.Start(ctx, pgserver.Config{DataDir: cfg.DataDir, Logf: func(f string, a ...any) {
			cfg.Logger.Info(fmt.Sprintf(f, a...))
		}})
		if err != nil {
			return m, err
		}
		if err = m.pg.CreateDatabase(ctx, "ledger"); err != nil {
			return m, err
		}
		url = m.pg.URL("ledger")
	}
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
	if err = iso.validate(); err != nil {
		return m, err
	}

	var compartments []server.CompartmentConfig
	for i, name := range iso.names() {
		l := iso.Compartments[name]
		pool, err := openPool(ctx, url, name, l)
		if err != nil {
			return m, err
		}
		m.pools = append(m.pools, pool)
		if i == 0 {
			if err = cockroach.Migrate(ctx, pool); err != nil {
				return m, err
			}
		}
		opt := cockroach.Options{Now: cfg.Now, Logger: cfg.Logger}
		if cfg.StoreOptions != nil {
			cfg.StoreOptions(name, &opt)
		}
		compartments = append(compartments, server.CompartmentConfig{
			Settings: l.settings(name),
			Ledger:   cockroach.New(pool, opt),
			Pool: func() (int32, int32) {
				st := pool.Stat()
				return st.MaxConns(), st.AcquiredConns()
			},
		})
	}
	m.Server, err = server.Start(server.Config{
		TLS: tlsCfg, Plaintext: cfg.Plaintext,
		Listen: cfg.Listen, AdminListen: cfg.AdminListen, Logger: cfg.Logger, Now: cfg.Now,
		Ledger: compartments[0].Ledger, Compartments: compartments, Methods: iso.Methods, Bulkheads: !cfg.BulkheadsOff,
	})
	return m, err
}

// shared returns the naive layout: one compartment, one pool, every method.
func (iso Isolation) shared() Isolation {
	out := Isolation{Compartments: map[string]Limits{sharedCompartment: iso.Shared}, Methods: map[string]string{}, Shared: iso.Shared}
	for method := range iso.Methods {
		out.Methods[method] = sharedCompartment
	}
	return out
}

// openPool opens a compartment's own connection pool, whose queries run
// under the compartment's statement timeout.
func openPool(ctx context.Context, url, name string, l Limits) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	if l.PoolSize > 0 {
		pcfg.MaxConns = l.PoolSize
	}
	pcfg.ConnConfig.RuntimeParams["application_name"] = "ledgerd-" + name
	if l.StatementTimeout > 0 {
		pcfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(l.StatementTimeout.Milliseconds())
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	return pool, nil
}

// Close drains in-flight calls (up to 15 seconds), then closes the pool
// and stops the embedded database.
func (m *Main) Close() error {
	var errs []error
	if m.Server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		errs = append(errs, m.Server.Stop(ctx))
		cancel()
	}
	for _, p := range m.pools {
		p.Close()
	}
	if m.pg != nil {
		errs = append(errs, m.pg.Stop())
	}
	return errors.Join(errs...)
}
