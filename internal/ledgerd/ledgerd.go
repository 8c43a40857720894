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
	// MaxConns bounds the connection pool; 32 by default.
	MaxConns int32
	// Logger receives the program's log; slog.Default() by default.
	Logger *slog.Logger
	// Now is the ledger's clock; time.Now by default. Tests move it.
	Now func() time.Time
}

// Main is a running ledger server and what it started.
type Main struct {
	cfg    Config
	pg     *pgserver.Server
	pool   *pgxpool.Pool
	Server *server.Server
}

// Run starts the database (when embedded), migrates it and starts serving.
// It returns once the server accepts calls; Close stops everything.
func Run(ctx context.Context, cfg Config) (m *Main, err error) {
	if cfg.DataDir == "" {
		cfg.DataDir = "ledger-data"
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 32
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
	pcfg, err := pxpoolConfig(url, cfg.MaxConns)
	if err != nil {
		return m, err
	}
	if m.pool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		return m, fmt.Errorf("database: %w", err)
	}
	if err = cockroach.Migrate(ctx, m.pool); err != nil {
		return m, err
	}
	store := cockroach.New(m.pool, cockroach.Options{Now: cfg.Now, Logger: cfg.Logger})
	m.Server, err = server.Start(server.Config{
		Listen: cfg.Listen, AdminListen: cfg.AdminListen, Ledger: store, Logger: cfg.Logger, Now: cfg.Now,
	})
	return m, err
}

func pxpoolConfig(url string, maxConns int32) (*pgxpool.Config, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	pcfg.MaxConns = maxConns
	pcfg.ConnConfig.RuntimeParams["application_name"] = "ledgerd"
	return pcfg, nil
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
	if m.pool != nil {
		m.pool.Close()
	}
	if m.pg != nil {
		errs = append(errs, m.pg.Stop())
	}
	return errors.Join(errs...)
}
