package cockroach_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/internal/procstat"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// TestBackendNice checks that the hook lowers the priority of the server
// process of each session of a PostgreSQL on this machine (through its Unix
// socket, as the tests' server is reached), and of no other session.
func TestBackendNice(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the hook acts on Linux only")
	}
	if cockroach.BackendNice(0, nil) != nil {
		t.Fatal("BackendNice(0) gave a hook")
	}
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	backend := func(hook func(context.Context, *pgx.Conn) error) (pid, nice int) {
		t.Helper()
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		cfg.AfterConnect = hook
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		if err := pool.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		if nice, err = procstat.Nice(pid); err != nil {
			t.Fatalf("the session's server process %d: %v", pid, err)
		}
		return pid, nice
	}
	pid, nice := backend(nil)
	if nice != 0 {
		t.Fatalf("a session without the hook runs at nice %d; the test needs 0", nice)
	}
	if fi, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
		t.Fatal(err)
	} else if os.Geteuid() != 0 && int(fi.Sys().(*syscall.Stat_t).Uid) != os.Geteuid() {
		t.Skip("the database's processes belong to another user, whose priority only root may change")
	}
	hook := cockroach.AfterConnects(nil, cockroach.BackendNice(25, nil), nil)
	if _, nice := backend(hook); nice != 19 {
		t.Fatalf("a session through BackendNice(25) runs at nice %d; want 19, the most there is", nice)
	}
	if _, nice := backend(cockroach.BackendNice(10, nil)); nice != 10 {
		t.Fatalf("a session through BackendNice(10) runs at nice %d; want 10", nice)
	}
}
