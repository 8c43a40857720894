package pgserver_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corebanking/ledger/internal/pgserver"
	"github.com/jackc/pgx/v5"
)

// fast makes tests quick; durability does not matter here.
var fast = map[string]string{"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}

// newDataDir returns a short, not yet existing data directory whose parent
// the postgres user can reach, removed when the test ends.
func newDataDir(tb testing.TB) string {
	tb.Helper()
	base, err := os.MkdirTemp("", "pgs")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(base, "d")
}

// mustStart starts a server on dir and stops it when the test ends.
func mustStart(tb testing.TB, dir string, settings map[string]string) *pgserver.Server {
	tb.Helper()
	s, err := pgserver.Start(context.Background(), pgserver.Config{DataDir: dir, Settings: settings, Logf: tb.Logf})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// mustConnect opens a connection closed when the test ends.
func mustConnect(tb testing.TB, url string) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryString(tb testing.TB, conn *pgx.Conn, sql string) string {
	tb.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), sql).Scan(&s); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return s
}

func TestStart(t *testing.T) {
	t.Parallel()
	s := mustStart(t, newDataDir(t), nil)
	conn := mustConnect(t, s.URL("postgres"))
	if got := queryString(t, conn, "SELECT 1::text"); got != "1" {
		t.Errorf("SELECT 1 = %q", got)
	}
	if got := queryString(t, conn, "SHOW max_connections"); got != "300" {
		t.Errorf("max_connections = %s, want the default 300", got)
	}
	if got := queryString(t, conn, "SHOW listen_addresses"); got != "" {
		t.Errorf("listen_addresses = %q, want unix socket only", got)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	s := mustStart(t, dir, nil)
	ctx := context.Background()
	if err := s.CreateDatabase(ctx, "ledger"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDatabase(ctx, "ledger"); err != nil {
		t.Fatalf("CreateDatabase is not idempotent: %v", err)
	}
	conn := mustConnect(t, s.URL("ledger"))
	if _, err := conn.Exec(ctx, "CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	s = mustStart(t, dir, map[string]string{"max_connections": "20"})
	conn = mustConnect(t, s.URL("ledger"))
	if got := queryString(t, conn, "SELECT v FROM t"); got != "kept" {
		t.Errorf("after restart v = %q, want kept", got)
	}
	if got := queryString(t, conn, "SHOW max_connections"); got != "20" {
		t.Errorf("max_connections = %s, want the configured 20", got)
	}
}

func TestStaleAbandonedServer(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	mustStart(t, dir, fast) // abandoned: its Stop runs only at cleanup, after the next Start took over
	s := mustStart(t, dir, fast)
	if got := queryString(t, mustConnect(t, s.URL("postgres")), "SELECT 1::text"); got != "1" {
		t.Errorf("SELECT 1 = %q", got)
	}
}

// TestStaleKilledOwner kills a process that started a server with SIGKILL,
// leaving its postmaster running, and starts again on the same directory.
func TestStaleKilledOwner(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	owner := startOwner(t, dir, false)
	owner.Process.Kill()
	owner.Wait()
	orphan := postmasterPid(t, dir)
	if err := syscall.Kill(orphan, 0); err != nil {
		t.Fatalf("orphaned postmaster %d is not running: %v", orphan, err)
	}

	s := mustStart(t, dir, fast)
	if got := queryString(t, mustConnect(t, s.URL("postgres")), "SELECT 1::text"); got != "1" {
		t.Errorf("SELECT 1 = %q", got)
	}
	if pid := postmasterPid(t, dir); pid == orphan {
		t.Errorf("postmaster %d is still the orphan", pid)
	}
}

// TestLockDir: one holder at a time, the refusal names it, and a holder
// killed with SIGKILL leaves no lock behind.
func TestLockDir(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	l, err := pgserver.LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var locked *pgserver.LockedError
	if _, err := pgserver.LockDir(dir); !errors.As(err, &locked) || !errors.Is(err, pgserver.ErrDirLocked) || locked.Pid != os.Getpid() {
		t.Fatalf("second lock: %v, want a LockedError naming pid %d", err, os.Getpid())
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if l, err = pgserver.LockDir(dir); err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	l.Unlock()

	owner := startOwner(t, dir, true)
	_, err = pgserver.LockDir(dir)
	if !errors.As(err, &locked) || locked.Pid != owner.Process.Pid || !strings.Contains(err.Error(), strconv.Itoa(owner.Process.Pid)) {
		owner.Process.Kill()
		owner.Wait()
		t.Fatalf("lock held by the helper: %v, want a LockedError naming pid %d", err, owner.Process.Pid)
	}
	owner.Process.Kill()
	owner.Wait()
	if l, err = pgserver.LockDir(dir); err != nil {
		t.Fatalf("lock after its holder was killed: %v", err)
	}
	defer l.Unlock()
	s := mustStart(t, dir, fast) // and the orphaned postmaster is recovered as before
	if got := queryString(t, mustConnect(t, s.URL("postgres")), "SELECT 1::text"); got != "1" {
		t.Errorf("SELECT 1 = %q", got)
	}
}

// startOwner runs TestHelperOwner on dir, holding its lock if lock, and
// returns once its server is ready.
func startOwner(t *testing.T, dir string, lock bool) *exec.Cmd {
	t.Helper()
	owner := exec.Command(os.Args[0], "-test.run=^TestHelperOwner$")
	owner.Env = append(os.Environ(), "PGSERVER_HELPER_DIR="+dir)
	if lock {
		owner.Env = append(owner.Env, "PGSERVER_HELPER_LOCK=1")
	}
	owner.Stderr = os.Stderr
	out, err := owner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		owner.Process.Kill()
		owner.Wait()
		t.Fatalf("helper said %q, want ready", line)
	}
	return owner
}

// TestHelperOwner is the owner process of TestStaleKilledOwner, not a test.
func TestHelperOwner(t *testing.T) {
	dir := os.Getenv("PGSERVER_HELPER_DIR")
	if dir == "" {
		return
	}
	if os.Getenv("PGSERVER_HELPER_LOCK") != "" {
		if _, err := pgserver.LockDir(dir); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pgserver.Start(context.Background(), pgserver.Config{DataDir: dir, Settings: fast}); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("ready\n")
	time.Sleep(time.Minute) // until killed
	t.Fatal("helper was not killed")
}

// TestStalePidFile starts on a postmaster.pid left behind by a postmaster
// whose pid is now dead, or reused by an unrelated process.
func TestStalePidFile(t *testing.T) {
	t.Parallel()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Process.Kill(); other.Wait() })
	dir := newDataDir(t)
	if err := mustStart(t, dir, fast).Stop(); err != nil {
		t.Fatal(err)
	}
	for name, pid := range map[string]int{"DeadPid": dead.Process.Pid, "ReusedPid": other.Process.Pid} {
		t.Run(name, func(t *testing.T) {
			writeAsOwner(t, filepath.Join(dir, "postmaster.pid"), fmt.Sprintf("%d\n%s\n", pid, dir))
			if err := mustStart(t, dir, fast).Stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// writeAsOwner writes a file owned like its directory, as the server would.
func writeAsOwner(tb testing.TB, path, content string) {
	tb.Helper()
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil {
		tb.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	err = os.WriteFile(path, []byte(content), 0o600)
	if err == nil {
		err = os.Chown(path, int(st.Uid), int(st.Gid))
	}
	if err != nil {
		tb.Fatal(err)
	}
}

func postmasterPid(tb testing.TB, dir string) int {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		tb.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		tb.Fatal(err)
	}
	return pid
}

func TestErrNoBinaries(t *testing.T) {
	_, err := pgserver.Start(context.Background(), pgserver.Config{DataDir: newDataDir(t), BinDir: t.TempDir()})
	if !errors.Is(err, pgserver.ErrNoBinaries) {
		t.Fatalf("err = %v, want ErrNoBinaries", err)
	}
	if !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Errorf("message %q does not say how to fix it", err)
	}
}

func TestErrPathTooLong(t *testing.T) {
	dir := filepath.Join(os.TempDir(), strings.Repeat("x", 100))
	_, err := pgserver.Start(context.Background(), pgserver.Config{DataDir: dir})
	if !errors.Is(err, pgserver.ErrPathTooLong) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("err = %v, want ErrPathTooLong naming %s", err, dir)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s was created", dir)
	}
}

func TestUnreachableParent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the data directory to another user")
	}
	parent, err := os.MkdirTemp("", "pgs") // mode 0700, owned by root
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	_, err = pgserver.Start(context.Background(), pgserver.Config{DataDir: filepath.Join(parent, "d")})
	if err == nil || !strings.Contains(err.Error(), parent+" ") {
		t.Fatalf("err = %v, want an error naming %s", err, parent)
	}
}

func TestStartFailureShowsLog(t *testing.T) {
	t.Parallel()
	_, err := pgserver.Start(context.Background(), pgserver.Config{
		DataDir: newDataDir(t), Settings: map[string]string{"max_connections": "lots"}})
	if err == nil || !strings.Contains(err.Error(), `invalid value for parameter "max_connections"`) {
		t.Fatalf("err = %v, want one quoting the server log", err)
	}
}

// TestEnsureOwner hands a database and what the superuser made in it to a
// role that is no superuser, which can then change its schema.
func TestEnsureOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := mustStart(t, newDataDir(t), fast)
	if err := s.CreateDatabase(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	super := mustConnect(t, s.URL("app"))
	for _, sql := range []string{`CREATE TABLE old (id INT8 PRIMARY KEY)`, `CREATE SEQUENCE old_seq`,
		`CREATE TABLE versions (id SERIAL PRIMARY KEY, n INT8 GENERATED ALWAYS AS IDENTITY)`, // as goose's
		`CREATE FUNCTION old_fn(a INT8) RETURNS INT8 LANGUAGE sql AS 'SELECT a'`} {
		if _, err := super.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // a second run finds everything in place
		if err := s.EnsureOwner(ctx, "app", "app_owner"); err != nil {
			t.Fatal(err)
		}
	}
	owner := mustConnect(t, s.URLAs("app", "app_owner"))
	if got := queryString(t, owner, `SELECT CAST(rolsuper AS TEXT) || ',' || CAST(rolcreaterole AS TEXT) FROM pg_roles WHERE rolname = current_user`); got != "false,true" {
		t.Errorf("app_owner superuser, createrole = %s, want false,true", got)
	}
	if got := queryString(t, owner, `SELECT string_agg(pg_get_userbyid(relowner), ',') FROM pg_class WHERE relname IN ('old', 'old_seq')`); got != "app_owner,app_owner" {
		t.Errorf("owners = %s", got)
	}
	if got := queryString(t, owner, `SELECT string_agg(DISTINCT pg_get_userbyid(relowner), ',') FROM pg_class WHERE relname LIKE 'versions%'`); got != "app_owner" {
		t.Errorf("owners of versions and its sequences = %s", got)
	}
	for _, sql := range []string{`ALTER TABLE old ADD COLUMN n INT8`, `CREATE TABLE new (id INT8)`, `DROP FUNCTION old_fn(INT8)`,
		`INSERT INTO versions DEFAULT VALUES`} {
		if _, err := owner.Exec(ctx, sql); err != nil {
			t.Errorf("as the owner: %s: %v", sql, err)
		}
	}
}
