package cockroach

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5"
)

// BackendNice returns a pgxpool AfterConnect hook that lowers the operating
// system's priority of each session's server process to nice (1 to 19),
// when the database is a PostgreSQL on this machine: background work, such
// as the journal's sealer, then takes the processor when the sessions of
// payments leave it idle, rather than a share of it beside them. It is
// PostgreSQL's stand-in for CockroachDB's background quality of service
// (QualityOfService), which admission control honours across a cluster and
// this hook leaves to it.
//
// The hook acts only on a session it can prove local: reached through a
// Unix socket whose listener (the kernel's peer credentials) is the parent
// of the process the server names as the session's own
// (pg_backend_pid()). Anything else (TCP, another machine, another pid
// namespace, no right to renice) leaves the session as it is, logged at
// debug level: the hook never fails a connection. Linux only; elsewhere it
// does nothing.
func BackendNice(nice int, logger *slog.Logger) func(context.Context, *pgx.Conn) error {
	if nice <= 0 {
		return nil
	}
	nice = min(nice, 19)
	if logger == nil {
		logger = slog.Default()
	}
	return func(ctx context.Context, conn *pgx.Conn) error {
		if !onPostgres(conn) {
			return nil
		}
		var pid int
		if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			return err // the connection does not work: let the pool say so
		}
		if err := reniceBackend(conn.PgConn().Conn(), pid, nice); err != nil {
			logger.Debug("the database session keeps its priority", "pid", pid, "err", err)
		}
		return nil
	}
}

// AfterConnects runs hooks in order; nil hooks are skipped, and no hook at
// all gives nil.
func AfterConnects(hooks ...func(context.Context, *pgx.Conn) error) func(context.Context, *pgx.Conn) error {
	var set []func(context.Context, *pgx.Conn) error
	for _, h := range hooks {
		if h != nil {
			set = append(set, h)
		}
	}
	switch len(set) {
	case 0:
		return nil
	case 1:
		return set[0]
	}
	return func(ctx context.Context, conn *pgx.Conn) error {
		for _, h := range set {
			if err := h(ctx, conn); err != nil {
				return err
			}
		}
		return nil
	}
}
