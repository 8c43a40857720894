package ledgerd_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgserver"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// newDataDir returns a data directory for an embedded PostgreSQL that the
// postgres user can reach, removed when the test ends, after any
// postmaster a killed ledgerd left running on it is stopped.
func newDataDir(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("", "lgd")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "d")
	t.Cleanup(func() {
		if err := pgserver.StopStale(dir); err != nil {
			t.Error(err)
		}
		os.RemoveAll(base)
	})
	return dir
}

// embeddedURL is the ledger database of the embedded PostgreSQL in dir.
func embeddedURL(dir string) string {
	return (&url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/ledger",
		RawQuery: "host=" + url.QueryEscape(dir) + "&sslmode=disable"}).String()
}

// postmasterPid reads the pid of the postmaster running on dir.
func postmasterPid(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}

// TestEmbeddedPostgresKilled kills the embedded postmaster with SIGKILL
// while clients pay: ledgerd reports NOT_SERVING for the gap, restarts it,
// serves again, and every acknowledged payment is in the books once.
func TestEmbeddedPostgresKilled(t *testing.T) {
	bin := buildLedgerd(t)
	dir := newDataDir(t)
	srv := launchLedgerd(t, bin, "--data-dir", dir)
	srv.waitServing(t)
	db := openPool(t, embeddedURL(dir))
	accts := openAccounts(t, srv)
	l := startRetryingLoad(t, srv, accts)
	l.waitAcks(t, srv, 50, time.Minute)
	w := watchHealth(t, srv)

	killed := postmasterPid(t, dir)
	if err := syscall.Kill(killed, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	gap := w.expect(t, "after the postmaster was killed", false, at, 10*time.Second)
	back := w.expect(t, "after the restart", true, gap, 90*time.Second)
	t.Logf("NOT_SERVING %v after the kill, SERVING again %v later", gap.Sub(at).Round(time.Millisecond), back.Sub(gap).Round(time.Millisecond))
	w.stop()
	if pid := postmasterPid(t, dir); pid == killed {
		t.Errorf("postmaster %d is the killed one", pid)
	}

	acked := l.acks.Load()
	l.waitAcks(t, srv, acked+50, time.Minute)
	l.stop()
	if l.acks.Load() < acked+50 {
		t.Fatalf("payments stalled after the restart: %d acknowledged, %d before", l.acks.Load(), acked)
	}
	select {
	case <-srv.exited:
		t.Fatalf("ledgerd exited: %s", srv.cmd.ProcessState)
	default:
	}
	if log, _ := os.ReadFile(srv.logPath); !strings.Contains(string(log), "embedded PostgreSQL exited unexpectedly") ||
		!strings.Contains(string(log), "embedded PostgreSQL restarted") {
		t.Errorf("the log does not tell of the restart:\n%s", logTail(srv.logPath, 30))
	}
	applied, refused := resolveUnknown(t, srv, &l.load, checkBooks(t, db))
	final := checkBooks(t, db)
	assertEntries(t, "after the restart", final, applied, refused)
	assertBalances(t, srv, final, accts, applied)
}

// TestOneLedgerdPerDataDir starts a second ledgerd on a data directory a
// running one owns: it exits non-zero within 5 seconds naming the owner,
// and the owner keeps serving on the same postmaster throughout. Then the
// owner is killed with SIGKILL, leaving its postmaster running and no
// live lock holder, and a third ledgerd recovers the directory.
func TestOneLedgerdPerDataDir(t *testing.T) {
	bin := buildLedgerd(t)
	dir := newDataDir(t)
	first := launchLedgerd(t, bin, "--data-dir", dir)
	first.waitServing(t)
	accts := openAccounts(t, first)
	postmaster := postmasterPid(t, dir)
	l := startRetryingLoad(t, first, accts)
	l.waitAcks(t, first, 20, time.Minute)
	w := watchHealth(t, first)

	started := time.Now()
	second := launchLedgerd(t, bin, "--data-dir", dir)
	select {
	case <-second.exited:
	case <-time.After(5 * time.Second):
		t.Fatalf("the second ledgerd still runs 5s after it started:\n%s", logTail(second.logPath, 20))
	}
	refused := time.Now()
	if code := second.cmd.ProcessState.ExitCode(); code == 0 {
		t.Errorf("the second ledgerd exited with status 0")
	}
	msg := logTail(second.logPath, 5)
	if !strings.Contains(msg, "is in use by process "+strconv.Itoa(first.cmd.Process.Pid)) {
		t.Errorf("the second ledgerd does not name the owner (pid %d):\n%s", first.cmd.Process.Pid, msg)
	}
	t.Logf("second ledgerd refused in %v: %s", refused.Sub(started).Round(time.Millisecond), strings.TrimSpace(msg))

	acked := l.acks.Load()
	l.waitAcks(t, first, acked+20, time.Minute)
	l.stop()
	w.stop()
	w.allSince(t, started, time.Now(), true)
	if pid := postmasterPid(t, dir); pid != postmaster || syscall.Kill(pid, 0) != nil {
		t.Errorf("the first ledgerd's postmaster %d was replaced by %d, or is gone", postmaster, pid)
	}

	// A crash leaves the postmaster running and the lock free.
	if err := first.kill(t); err != nil {
		t.Fatal(err)
	}
	third := launchLedgerd(t, bin, "--data-dir", dir)
	third.waitServing(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := third.acct.GetBalance(ctx, &ledgerv1.GetBalanceRequest{AccountId: accts[0]}); err != nil {
		t.Errorf("after recovering the directory: %v", err)
	}
	if pid := postmasterPid(t, dir); pid == postmaster {
		t.Errorf("postmaster %d is still the crashed ledgerd's", pid)
	}
}

// TestEmbeddedPostgresCannotRestart: when the embedded PostgreSQL exits
// and cannot be started again, ledgerd gives up after its attempts and
// says why, rather than serve without a database.
func TestEmbeddedPostgresCannotRestart(t *testing.T) {
	dir := newDataDir(t)
	m, err := ledgerd.Run(t.Context(), ledgerd.Config{DataDir: dir, Listen: "127.0.0.1:0", AdminListen: "-", Plaintext: true,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Restart: ledgerd.RestartPolicy{Attempts: 2, Backoff: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// Without PG_VERSION the directory holds no cluster, and a cluster
	// cannot be made in it either (it is not empty).
	if err := os.Remove(filepath.Join(dir, "PG_VERSION")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(postmasterPid(t, dir), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-m.Fatal():
		if !strings.Contains(err.Error(), "could not be restarted (2 attempts)") {
			t.Errorf("fatal error does not say why: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("no fatal error two minutes after the postmaster was killed")
	}
}
