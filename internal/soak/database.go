package soak

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/corebanking/ledger/internal/pgserver"
)

// dbName is the database the ledger runs in, on the embedded server.
const dbName = "ledger"

// database is the PostgreSQL under test: one the soak runs itself, which
// it can crash and freeze, or one it was given, which it can only reach
// through its proxies.
type database struct {
	cfg  pgserver.Config // the embedded server's; zero for a given one
	logf func(string, ...any)

	mu  sync.Mutex
	srv *pgserver.Server // nil for a given database, or while crashed

	url  string // the owner's URL, over TCP
	addr string // host:port of url, which the proxies forward to
	// check is a pool of the soak's own, straight to the database, for
	// the checks at the end.
	check *pgxpool.Pool
}

// openDatabase starts an embedded PostgreSQL in dir, listening on a free
// loopback port as well, or uses given (a postgres:// URL over TCP).
func openDatabase(ctx context.Context, dir, given string, logf func(string, ...any)) (*database, error) {
	d := &database{logf: logf}
	if given != "" {
		u, err := url.Parse(given)
		if err != nil || u.Host == "" || u.Port() == "" {
			return nil, fmt.Errorf("--database-url must be a postgres:// URL with a host and a port (the proxies need TCP), got %q", given)
		}
		d.url, d.addr = given, u.Host
	} else {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		d.cfg = pgserver.Config{DataDir: filepath.Join(dir, "pg"), TCPPort: port, Logf: logf}
		if err := d.start(ctx); err != nil {
			return nil, err
		}
		if err := d.srv.CreateDatabase(ctx, dbName); err != nil {
			return nil, err
		}
		d.addr = d.srv.TCPAddr()
		d.url = "postgres://postgres@" + d.addr + "/" + dbName + "?sslmode=disable"
	}
	pool, err := pgxpool.New(ctx, d.url)
	if err != nil {
		d.Close()
		return nil, err
	}
	d.check = pool
	return d, nil
}

// embedded reports whether the soak runs the database itself, and so may
// crash and freeze it.
func (d *database) embedded() bool { return d.cfg.DataDir != "" }

// start starts (or, after a crash, recovers) the embedded server.
func (d *database) start(ctx context.Context) error {
	srv, err := pgserver.Start(ctx, d.cfg)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.srv = srv
	d.mu.Unlock()
	return nil
}

// crash ends the embedded server at once: every process killed (kill is
// true), or PostgreSQL's immediate shutdown.
func (d *database) crash(kill bool) error {
	d.mu.Lock()
	srv := d.srv
	d.srv = nil
	d.mu.Unlock()
	if srv == nil {
		return errNotRunning
	}
	if kill {
		return srv.Kill()
	}
	return srv.CrashImmediate()
}

// freeze stops every process of the embedded server; thaw resumes them.
func (d *database) freeze() error {
	if srv := d.server(); srv != nil {
		return srv.Freeze()
	}
	return errNotRunning
}

func (d *database) thaw() error {
	if srv := d.server(); srv != nil {
		return srv.Thaw()
	}
	return errNotRunning
}

var errNotRunning = errors.New("the database is not running")

// running reports whether the embedded server is up, or the database is
// a given one.
func (d *database) running() bool { return !d.embedded() || d.server() != nil }

func (d *database) server() *pgserver.Server {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.srv
}

// Close closes the pool and stops the embedded server.
func (d *database) Close() error {
	if d.check != nil {
		d.check.Close()
	}
	if srv := d.server(); srv != nil {
		_ = srv.Thaw()
		return srv.Stop()
	}
	return nil
}

// freePort returns a loopback port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freeAddr returns a loopback address nothing listens on now.
func freeAddr() (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(port)), nil
}

// waitUp polls until the database answers, or ctx ends.
func (d *database) waitUp(ctx context.Context) error {
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := d.check.Ping(pctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("database not answering: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
