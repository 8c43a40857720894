package ledgerd_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/corebanking/ledger/internal/journalkey"
	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// TestEmbeddedDatabaseOwner starts ledgerd on its own PostgreSQL, as `make
// run` does: the schema belongs to an owner that is no superuser, whom the
// journal's triggers bind, and the development journal key is made beside
// the development certificates.
func TestEmbeddedDatabaseOwner(t *testing.T) {
	ctx := context.Background()
	base, err := os.MkdirTemp("", "ldg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil { // the postgres user must reach the data directory
		t.Fatal(err)
	}
	data := filepath.Join(base, "d")
	m, err := ledgerd.Run(ctx, ledgerd.Config{DataDir: data, Listen: "127.0.0.1:0", AdminListen: "-", Plaintext: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if _, _, err := journalkey.LoadSigner(filepath.Join(ledgerd.DefaultTLSDir(data), journalkey.DevFile)); err != nil {
		t.Errorf("development journal key: %v", err)
	}

	socket := func(user string) *pgx.Conn {
		u := url.URL{Scheme: "postgres", User: url.User(user), Path: "/ledger", RawQuery: "host=" + data + "&sslmode=disable"}
		conn, err := pgx.Connect(ctx, u.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(ctx) })
		return conn
	}
	super := socket("postgres")
	var owner string
	var isSuper bool
	if err := super.QueryRow(ctx, `SELECT pg_get_userbyid(c.relowner), r.rolsuper FROM pg_class AS c
		JOIN pg_roles AS r ON r.oid = c.relowner WHERE c.relname = 'journal'`).Scan(&owner, &isSuper); err != nil {
		t.Fatal(err)
	}
	if owner != cockroach.RoleOwner || isSuper {
		t.Errorf("the journal belongs to %s (superuser: %v), want %s, no superuser", owner, isSuper, cockroach.RoleOwner)
	}
	_, err = socket(cockroach.RoleOwner).Exec(ctx, `DELETE FROM entries`)
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || !strings.Contains(pg.Message, "append-only") {
		t.Errorf("the owner deleting entries: %v, want the trigger's refusal", err)
	}
}
