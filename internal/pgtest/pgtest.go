// Package pgtest gives tests throwaway databases on one server per test
// binary: a private PostgreSQL started with pgserver, a CockroachDB started
// from $COCKROACH_BINARY, or the server at $LEDGER_TEST_DATABASE_URL.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// adminURL is the superuser URL of the server, set by Main.
var adminURL string

// Main starts the server, runs the tests, stops the server and exits; call it from TestMain.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	stop, err := start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		code = max(code, 1)
	}
	return code
}

// start brings up the server the environment asks for and returns how to stop it.
func start() (stop func() error, err error) {
	if u := os.Getenv("LEDGER_TEST_DATABASE_URL"); u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
			return nil, fmt.Errorf("LEDGER_TEST_DATABASE_URL must be a postgres:// URL, got %q", u)
		}
		adminURL = u
		return func() error { return nil }, nil
	}
	if bin := os.Getenv("COCKROACH_BINARY"); bin != "" {
		return startCockroach(bin)
	}
	return startPostgres()
}

// AdminURL returns the superuser URL of the shared server, for work outside one test database.
func AdminURL(tb testing.TB) string {
	tb.Helper()
	if adminURL == "" {
		tb.Fatal("pgtest: no server; call pgtest.Main(m) from TestMain")
	}
	return adminURL
}

// NewDatabase creates an empty database, dropped when the test ends, and returns its URL.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	admin := AdminURL(tb)
	name := dbName(tb.Name())
	withConn(tb, admin, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		return err
	})
	tb.Cleanup(func() {
		withConn(tb, admin, func(ctx context.Context, conn *pgx.Conn) error { return dropDatabase(ctx, conn, name) })
	})
	u, _ := url.Parse(admin) // validated by start
	u.Path = "/" + name
	return u.String()
}

// NewOwnedDatabase is NewDatabase owned by role, a login role that may
// create roles but is no superuser (created if missing), and returns the
// URL that logs in as role: as the embedded server's owner, whom the
// ledger migrates as. The server must trust role's logins (the private
// PostgreSQL does); PostgreSQL only.
func NewOwnedDatabase(tb testing.TB, role string) string {
	tb.Helper()
	u, _ := url.Parse(NewDatabase(tb))
	withConn(tb, AdminURL(tb), func(ctx context.Context, conn *pgx.Conn) error {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists); err != nil || exists {
			return err
		}
		_, err := conn.Exec(ctx, "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" WITH LOGIN CREATEROLE NOSUPERUSER")
		return err
	})
	withConn(tb, u.String(), func(ctx context.Context, conn *pgx.Conn) error {
		for _, sql := range []string{"ALTER DATABASE " + pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize(),
			"ALTER SCHEMA public"} {
			if _, err := conn.Exec(ctx, sql+" OWNER TO "+pgx.Identifier{role}.Sanitize()); err != nil {
				return err
			}
		}
		return nil
	})
	u.User = url.User(role)
	return u.String()
}

// dbName makes a unique, recognisable database name from a test name.
func dbName(test string) string {
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(test))
	b := make([]byte, 6)
	rand.Read(b)
	return "t_" + clean[:min(len(clean), 40)] + "_" + hex.EncodeToString(b)
}

func dropDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	var version string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		return err
	}
	drop := "DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize()
	if strings.Contains(version, "CockroachDB") {
		drop += " CASCADE"
	} else {
		drop += " WITH (FORCE)" // PostgreSQL only: ends connections a test left open
	}
	_, err := conn.Exec(ctx, drop)
	return err
}

// withConn runs f on a fresh connection to url, failing tb on error.
func withConn(tb testing.TB, url string, f func(context.Context, *pgx.Conn) error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err == nil {
		err = f(ctx, conn)
		conn.Close(ctx)
	}
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
}

// Beginner is a connection or pool that begins transactions.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Tamper runs stmts in one transaction as the superuser of db, with
// triggers off for it (see TamperFunc).
func Tamper(tb testing.TB, db Beginner, stmts ...string) {
	tb.Helper()
	TamperFunc(tb, db, func(ctx context.Context, tx pgx.Tx) error {
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
}

// TamperFunc runs fn in one transaction as the superuser of db, with
// triggers off for it (session_replication_role = replica, which only a
// superuser may set; CockroachDB has neither), as someone who owns the
// database server would change history behind the ledger's back.
func TamperFunc(tb testing.TB, db Beginner, fn func(context.Context, pgx.Tx) error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tx, err := db.Begin(ctx)
	if err != nil {
		tb.Fatalf("pgtest: tamper: %v", err)
	}
	defer tx.Rollback(ctx)
	var version string
	if err := tx.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		tb.Fatalf("pgtest: tamper: %v", err)
	}
	if !strings.Contains(version, "CockroachDB") {
		if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
			tb.Fatalf("pgtest: tamper: %v", err)
		}
	}
	if err := fn(ctx, tx); err != nil {
		tb.Fatalf("pgtest: tamper: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		tb.Fatalf("pgtest: tamper: %v", err)
	}
}

// IsCockroach reports whether the shared server is CockroachDB.
func IsCockroach(tb testing.TB) bool {
	tb.Helper()
	var version string
	withConn(tb, AdminURL(tb), func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, "SELECT version()").Scan(&version)
	})
	return strings.Contains(version, "CockroachDB")
}
