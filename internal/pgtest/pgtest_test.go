package pgtest_test

import (
	"context"
	"testing"

	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	pgtest.Main(m)
}

func TestNewDatabaseIsolated(t *testing.T) {
	ctx := context.Background()
	a, b := connect(t, pgtest.NewDatabase(t)), connect(t, pgtest.NewDatabase(t))
	if _, err := a.Exec(ctx, "CREATE TABLE t (v int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	var dbA, dbB string
	var tables int
	if err := a.QueryRow(ctx, "SELECT current_database()").Scan(&dbA); err != nil {
		t.Fatal(err)
	}
	err := b.QueryRow(ctx, "SELECT current_database(), count(*) FROM information_schema.tables WHERE table_name = 't'").
		Scan(&dbB, &tables)
	if err != nil {
		t.Fatal(err)
	}
	if dbA == dbB || tables != 0 {
		t.Errorf("databases %q and %q: second sees %d tables named t, want two databases and 0", dbA, dbB, tables)
	}
}

func TestNewDatabaseParallel(t *testing.T) {
	for _, name := range []string{"A", "B", "C", "D", "E", "F"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var one int
			if err := connect(t, pgtest.NewDatabase(t)).QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAdminURL(t *testing.T) {
	ctx := context.Background()
	conn := connect(t, pgtest.AdminURL(t))
	if _, err := conn.Exec(ctx, "CREATE DATABASE admin_check"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "DROP DATABASE admin_check"); err != nil {
		t.Fatal(err)
	}
}

// connect opens a connection closed when the test ends, before its database is dropped.
func connect(tb testing.TB, url string) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
