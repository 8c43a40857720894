package pgserver_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/internal/pgserver"
)

// freePort returns a loopback TCP port nothing listens on.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startTCP starts a server on dir that also listens on port.
func startTCP(tb testing.TB, dir string, port int) *pgserver.Server {
	tb.Helper()
	s, err := pgserver.Start(context.Background(), pgserver.Config{DataDir: dir, TCPPort: port, Logf: tb.Logf})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		s.Thaw()
		if err := s.Stop(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// A server with a TCP port answers there and on its unix socket, and
// each crash leaves it recoverable with every committed row.
func TestCrashAndRecover(t *testing.T) {
	t.Parallel()
	dir, port := newDataDir(t), freePort(t)
	s := startTCP(t, dir, port)
	tcpURL := "postgres://postgres@" + s.TCPAddr() + "/postgres?sslmode=disable"
	conn := mustConnect(t, tcpURL)
	if _, err := conn.Exec(context.Background(), "CREATE TABLE kept (n INT8)"); err != nil {
		t.Fatal(err)
	}
	for i, crash := range []struct {
		name string
		do   func(*pgserver.Server) error
	}{
		{"Kill", (*pgserver.Server).Kill},
		{"CrashImmediate", (*pgserver.Server).CrashImmediate},
	} {
		if _, err := conn.Exec(context.Background(), "INSERT INTO kept VALUES ($1)", i); err != nil {
			t.Fatal(err)
		}
		if err := crash.do(s); err != nil {
			t.Fatalf("%s: %v", crash.name, err)
		}
		select {
		case <-s.Exited():
		default:
			t.Fatalf("%s returned with the postmaster running", crash.name)
		}
		if _, err := conn.Exec(context.Background(), "SELECT 1"); err == nil {
			t.Fatalf("a session survived %s", crash.name)
		}
		s = startTCP(t, dir, port)
		conn = mustConnect(t, tcpURL)
		if got := queryString(t, mustConnect(t, s.URL("postgres")), "SELECT CAST(count(*) AS TEXT) FROM kept"); got != strconv.Itoa(i+1) {
			t.Fatalf("after %s and recovery: %s committed rows, want %d", crash.name, got, i+1)
		}
	}
}

// A frozen server keeps its connections and answers nothing until thawed.
func TestFreezeAndThaw(t *testing.T) {
	t.Parallel()
	s := startTCP(t, newDataDir(t), freePort(t))
	conn := mustConnect(t, "postgres://postgres@"+s.TCPAddr()+"/postgres?sslmode=disable")
	if err := s.Freeze(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err := pgx.Connect(ctx, s.URL("postgres"))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("connecting to a frozen server: %v, want a timeout", err)
	}
	if err := s.Thaw(); err != nil {
		t.Fatal(err)
	}
	if got := queryString(t, conn, "SELECT 'thawed'"); got != "thawed" {
		t.Fatalf("after thawing: %q", got)
	}
}
