package ledgerd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/corebanking/ledger/ledger/cockroach"
)

// The program connects to the database as four users: the owner (the URL's
// own user) only to migrate, then each compartment as cockroach.RoleWriter,
// audit reads as cockroach.RoleAuditor and the sealer as
// cockroach.RoleSealer. Each role pool keeps the URL's host, database and
// TLS settings and changes only the user and password.

// auditorLimits size the auditors' pool when no audit compartment does
// (bulkheads off).
var auditorLimits = Limits{PoolSize: 2, StatementTimeout: 10 * time.Second}

// sealerLimits size the sealer's pool: one transaction at a time, and a
// second connection for releasing its lease.
var sealerLimits = Limits{PoolSize: 2, StatementTimeout: 10 * time.Second}

// payerLimits size the payer's pool: one transaction at a time, and a
// second connection for releasing its lease. A batch of payouts is one
// statement of a few hundred entries.
var payerLimits = Limits{PoolSize: 2, StatementTimeout: 10 * time.Second}

// probeLimits size the readiness probe's pool: one connection, and a
// statement that takes longer than the probe waits is as good as none.
var probeLimits = Limits{PoolSize: 1, StatementTimeout: 2 * time.Second}

// migrate runs the migrations as the URL's own user, and returns the page
// token key, which only that user may read. goose keeps one connection
// while a migration that runs outside a transaction takes another: the
// pool needs more than one.
func migrate(ctx context.Context, url string, log *slog.Logger) (pageKey []byte, err error) {
	pool, err := openPool(ctx, url, "", "", "migrate", Limits{PoolSize: 4}, nil)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if err := cockroach.Migrate(ctx, pool); err != nil {
		return nil, err
	}
	pageKey, err = cockroach.New(pool, cockroach.Options{Logger: log}).LoadPageKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("page token key: %w", err)
	}
	return pageKey, nil
}

// openPool opens a connection pool as role (the URL's user when empty),
// whose queries run under the limits' statement timeout. With tp, each
// statement of a traced call is a span of that call.
func openPool(ctx context.Context, url, role, password, name string, l Limits, tp trace.TracerProvider) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	if role != "" {
		pcfg.ConnConfig.User, pcfg.ConnConfig.Password = role, password
	}
	if l.PoolSize > 0 {
		pcfg.MaxConns = l.PoolSize
	}
	pcfg.ConnConfig.RuntimeParams["application_name"] = "ledgerd-" + name
	if tp != nil {
		// Statements, not their parameters: those are customers' data.
		pcfg.ConnConfig.Tracer = otelpgx.NewTracer(otelpgx.WithTracerProvider(tp),
			otelpgx.WithDisableConnectionDetailsInAttributes(), otelpgx.WithTracerAttributes(attribute.String("ledger.pool", name)))
	}
	if l.StatementTimeout > 0 {
		pcfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(l.StatementTimeout.Milliseconds())
	}
	// A SET on connect, not a runtime parameter: PostgreSQL refuses a
	// startup parameter it does not know.
	if pcfg.AfterConnect, err = cockroach.QualityOfService(l.QualityOfService); err != nil {
		return nil, fmt.Errorf("database (%s): %w", name, err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err == nil {
		// Log in now: a role without its password should stop the start,
		// not fail every call later.
		if err = pool.Ping(ctx); err != nil {
			pool.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("database (%s as %s): %w", name, pcfg.ConnConfig.User, err)
	}
	return pool, nil
}

// RolePasswordsFromDir reads the database roles' passwords from dir, one
// file per role named after it (ledger_writer, ledger_sealer,
// ledger_auditor), as a mounted secret holds them. A missing file means no
// password; a trailing newline is not part of it.
func RolePasswordsFromDir(dir string) (map[string]string, error) {
	out := map[string]string{}
	for _, role := range []string{cockroach.RoleWriter, cockroach.RoleSealer, cockroach.RoleAuditor} {
		b, err := os.ReadFile(filepath.Join(dir, role))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("database secrets: %w", err)
		}
		out[role] = strings.TrimRight(string(b), "\r\n")
	}
	return out, nil
}
