// Package pgserver runs a private PostgreSQL server for the ledger: it creates
// a cluster in a data directory on first use, starts postgres listening only on
// a unix socket inside that directory, and stops it again.
package pgserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNoBinaries means initdb and postgres could not be found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, postgres) not found: " +
	"install the PostgreSQL server (apt-get install postgresql) or pass --database-url / LEDGER_DATABASE_URL")

// ErrPathTooLong means the data directory is too long to hold the server's unix socket.
var ErrPathTooLong = errors.New("data directory path too long for a unix socket")

const (
	// defaultPort names the unix socket of a server with no TCP port.
	defaultPort = 5432
	// maxSocketPath is the longest socket path that fits sun_path on every
	// unix (104 bytes on BSD/macOS, 108 on Linux, both counting the NUL).
	maxSocketPath = 103
	startTimeout  = 60 * time.Second
	signalTimeout = 30 * time.Second
	logName       = "postgres.log"
)

// Config says where and how to run the server.
type Config struct {
	DataDir  string                           // where the cluster lives (created if missing); the unix socket lives here too
	BinDir   string                           // directory holding initdb and postgres; empty: PATH, then the newest /usr/lib/postgresql/*/bin
	Settings map[string]string                // extra server settings passed as -c name=value, over Defaults
	Logf     func(format string, args ...any) // optional progress log
	// TCPPort, when set, makes the server listen on 127.0.0.1 at this port
	// as well as on its unix socket (whose name then carries this port),
	// for clients that need a TCP address, such as a proxy that injects
	// network faults. Trust authentication applies to it too: loopback only.
	TCPPort int
}

// Server is a running postmaster started by Start.
type Server struct {
	dir     string
	port    int // the TCP port, or 0 for the unix socket only
	cmd     *exec.Cmd
	done    chan struct{} // closed once the postmaster has exited and been reaped
	waitErr error         // the postmaster's exit status; read only after done
	logf    func(format string, args ...any)

	stopOnce sync.Once
	stopErr  error
}

// Start initialises DataDir if needed, stops any postmaster an earlier owner
// left running there, starts postgres and waits until it accepts connections.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if cfg.DataDir == "" {
		return nil, errors.New("pgserver: Config.DataDir is empty")
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	socket := socketName(cfg.TCPPort)
	if n := len(dir) + 1 + len(socket); n > maxSocketPath {
		return nil, fmt.Errorf("pgserver: socket path %s is %d bytes, the limit is %d; choose a shorter data directory: %w",
			filepath.Join(dir, socket), n, maxSocketPath, ErrPathTooLong)
	}
	bin, err := findBinDir(cfg.BinDir)
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	if err := prepareDir(dir, cred); err != nil {
		return nil, err
	}
	if err := StopStale(dir); err != nil {
		return nil, err
	}
	if err := initdb(ctx, bin, dir, cred, cfg.Settings["fsync"] == "off", logf); err != nil {
		return nil, err
	}
	s, err := launch(bin, dir, cfg.TCPPort, cred, cfg.Settings, logf)
	if err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("pgserver: start postgres in %s: %w\n--- tail of %s ---\n%s",
			dir, err, s.logPath(), logTail(s.logPath()))
	}
	logf("pgserver: postgres ready on %s", dir)
	return s, nil
}

// URL returns a pgx connection URL for database as the superuser postgres, over the unix socket.
func (s *Server) URL(database string) string {
	host := strings.ReplaceAll(url.QueryEscape(s.dir), "%2F", "/")
	query := "host=" + host + "&sslmode=disable"
	if s.port != 0 {
		query += "&port=" + strconv.Itoa(s.port)
	}
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + database, RawQuery: query}
	return u.String()
}

// TCPAddr is the loopback address the server listens on (Config.TCPPort),
// or "" when it listens on its unix socket only.
func (s *Server) TCPAddr() string {
	if s.port == 0 {
		return ""
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// socketName is the name of the unix socket of a server on port (0: the default).
func socketName(port int) string {
	if port == 0 {
		port = defaultPort
	}
	return ".s.PGSQL." + strconv.Itoa(port)
}

// CreateDatabase creates the database name unless it already exists.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pgserver: create database %s: %w", name, err)
	}
	defer conn.Close(context.Background())
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err == nil && !exists {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") {
		err = nil // created concurrently: duplicate_database or a race on pg_database's unique index
	}
	if err != nil {
		return fmt.Errorf("pgserver: create database %s: %w", name, err)
	}
	return nil
}

// Exited is closed once the postmaster has exited, for whatever reason:
// Stop, a crash, a kill.
func (s *Server) Exited() <-chan struct{} { return s.done }

// ExitErr is how the postmaster exited (nil for status 0); it blocks until
// it has.
func (s *Server) ExitErr() error {
	<-s.done
	return s.waitErr
}

// LogTail returns the end of the server's log, for messages about it.
func (s *Server) LogTail() string { return logTail(s.logPath()) }

// Stop shuts the server down (fast shutdown) and waits for the postmaster to exit; it is idempotent.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

// stop asks for a fast shutdown, escalating to immediate shutdown and then
// SIGKILL if the postmaster does not exit in time.
func (s *Server) stop() error {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGKILL} {
		select {
		case <-s.done:
			return nil // already gone, e.g. stopped as a stale postmaster by another Start
		default:
		}
		if err := s.cmd.Process.Signal(sig); err != nil {
			s.logf("pgserver: signal %v to postmaster: %v", sig, err)
		}
		select {
		case <-s.done:
			if sig != syscall.SIGINT {
				return fmt.Errorf("pgserver: postgres in %s ignored fast shutdown; stopped with %v", s.dir, sig)
			}
			if s.waitErr != nil {
				return fmt.Errorf("pgserver: postgres in %s: %w", s.dir, s.waitErr)
			}
			s.logf("pgserver: postgres on %s stopped", s.dir)
			return nil
		case <-time.After(signalTimeout):
		}
	}
	<-s.done
	return fmt.Errorf("pgserver: postgres in %s ignored SIGKILL for %v", s.dir, signalTimeout)
}
