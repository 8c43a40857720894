package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/corebanking/ledger/internal/pgserver"
)

// ownerFile in a pgt* temp dir holds the pid of the test binary using it.
const ownerFile = "owner.pid"

// fastSettings trade durability, which throwaway data does not need, for speed.
var fastSettings = map[string]string{
	"fsync":              "off",
	"synchronous_commit": "off",
	"full_page_writes":   "off",
	"max_connections":    "300",
}

// startPostgres starts a private server in a fresh temp dir with a short
// path (the unix socket lives there) and removes it all on stop.
func startPostgres() (func() error, error) {
	sweep()
	base, err := os.MkdirTemp(tempRoot(), "pgt")
	if err != nil {
		return nil, err
	}
	// Root runs the server as the postgres user, who must reach base/d.
	err = errors.Join(os.Chmod(base, 0o755),
		os.WriteFile(filepath.Join(base, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644))
	var srv *pgserver.Server
	if err == nil {
		srv, err = pgserver.Start(context.Background(), pgserver.Config{DataDir: filepath.Join(base, "d"), Settings: fastSettings})
	}
	if err != nil {
		os.RemoveAll(base)
		return nil, err
	}
	adminURL = srv.URL("postgres")
	return func() error { return errors.Join(srv.Stop(), os.RemoveAll(base)) }, nil
}

// sweep stops the servers and removes the dirs of earlier test binaries that
// died without cleaning up (a panic or a -timeout kills them before Main's stop).
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(tempRoot(), "pgt*"))
	for _, base := range dirs {
		b, err := os.ReadFile(filepath.Join(base, ownerFile))
		if err != nil {
			continue // not ours, or not set up yet
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue // owner still running
		}
		if err := pgserver.StopStale(filepath.Join(base, "d")); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			continue
		}
		os.RemoveAll(base)
	}
}

// tempRoot is os.TempDir unless that is too long to leave room for the
// socket path (as $TMPDIR is on macOS).
func tempRoot() string {
	if dir := os.TempDir(); len(dir) <= 40 {
		return dir
	}
	return "/tmp"
}
