package pgserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// command prepares one of the server binaries: run as cred (nil: as
// ourselves), in its own process group so a terminal's Ctrl-C reaches only
// us, and from "/" because our working directory may be closed to cred.
func command(ctx context.Context, cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	return cmd
}

// initdb creates the cluster unless dir already holds one.
func initdb(ctx context.Context, bin, dir string, cred *syscall.Credential, noSync bool, logf func(string, ...any)) error {
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err == nil {
		return nil
	}
	args := []string{"-D", dir, "--auth=trust", "-U", "postgres", "--encoding=UTF8", "--locale=C"}
	if noSync {
		args = append(args, "--no-sync") // the server will not fsync either
	}
	logf("pgserver: initdb %s", dir)
	out, err := command(ctx, cred, filepath.Join(bin, "initdb"), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgserver: initdb %s: %w\n%s", dir, err, tail(out))
	}
	return nil
}

// launch starts the postmaster with its output appended to postgres.log in
// dir. A file, not a pipe, so the server can keep logging if we die.
func launch(bin, dir string, tcpPort int, cred *syscall.Credential, settings map[string]string, logf func(string, ...any)) (*Server, error) {
	s := &Server{dir: dir, port: tcpPort, done: make(chan struct{}), logf: logf}
	f, err := os.OpenFile(s.logPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	defer f.Close() // the child holds its own descriptor
	if cred != nil {
		if err := f.Chown(int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("pgserver: %w", err)
		}
	}
	s.cmd = command(context.Background(), cred, filepath.Join(bin, "postgres"), serverArgs(dir, tcpPort, settings)...)
	s.cmd.Stdout, s.cmd.Stderr = f, f
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("pgserver: start postgres: %w", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	return s, nil
}

// Defaults are the settings every server starts with, unless the caller's
// settings say otherwise. The predicate lock settings serve the ledger's
// group commit (ledger/cockroach/batch.go): at SERIALIZABLE, PostgreSQL
// records what each transaction read, and by default it coarsens a
// transaction's records into a lock on a whole page once it read three
// rows there, and on a whole table once it holds half as many locks in it
// as max_pred_locks_per_transaction allows (128 here). A batch
// of entries reads a few dozen to several hundred balance rows; coarsened,
// its read conflicts with every other batch's write, and most batches fail.
// With room for 256 locks per transaction (the shared pool), 64 rows per
// page and 4,096 locks per table before coarsening, a batch's reads stay
// on its own rows. The lock table is shared memory: 256 * max_connections
// entries: at 300 connections, shared_memory_size is 168 MB against 153 MB
// with the default of 64. (docs/posting.md has the measurements.) Every
// schema change is logged (log_statement = ddl): the journal's tables
// refuse changes until a trigger is dropped (ledger/cockroach/triggers.go),
// and the log keeps who did.
var Defaults = map[string]string{
	"max_connections":                "300",
	"max_pred_locks_per_transaction": "256",
	"max_pred_locks_per_page":        "64",
	"max_pred_locks_per_relation":    "4096",
	"log_statement":                  "ddl",
}

// serverArgs lists the postgres arguments: Defaults, then the caller's
// settings, then the listening setup the URL depends on: the unix socket
// only, or with tcpPort also 127.0.0.1 at that port.
func serverArgs(dir string, tcpPort int, settings map[string]string) []string {
	all := maps.Clone(Defaults)
	maps.Copy(all, settings)
	listen, port := "", defaultPort
	if tcpPort != 0 {
		listen, port = "127.0.0.1", tcpPort
	}
	maps.Copy(all, map[string]string{"listen_addresses": listen, "unix_socket_directories": dir, "port": strconv.Itoa(port)})
	args := []string{"-D", dir}
	for _, k := range slices.Sorted(maps.Keys(all)) {
		args = append(args, "-c", k+"="+all[k])
	}
	return args
}

// waitReady polls until the server accepts a connection, it exits, or the
// start timeout or ctx ends.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ping(ctx, s.URL("postgres"))
		if err == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("postgres exited during startup: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("postgres not ready: %w (last attempt: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func ping(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	return errors.Join(conn.Ping(ctx), conn.Close(ctx))
}

func (s *Server) logPath() string { return filepath.Join(s.dir, logName) }

// logTail returns the end of the server log, for error messages.
func logTail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > 8192 {
		_, _ = f.Seek(-8192, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return tail(b)
}

// tail keeps the last 30 lines of out.
func tail(out []byte) string {
	lines := strings.Split(string(bytes.TrimRight(out, "\n")), "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}
