package cockroach_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/mod/sumdb/note"

	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// mustSigner returns a new checkpoint signing key named name.
func mustSigner(tb testing.TB, name string) (note.Signer, note.Verifier) {
	tb.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		tb.Fatal(err)
	}
	return s, v
}

// historyTables are the tables whose rows never change once written.
var historyTables = map[string]string{ // table: a column to set
	"journal_blocks": "sealed_by = 'x'", "journal_tree_chunks": "nodes = nodes", "journal_checkpoints": "note = note",
	"entries": "memo = 'x'", "postings": "amount = amount + 1",
}

// TestAppendOnlyForEveryRole: on a schema migrated by an owner that is no
// superuser, as the embedded database has it, no runtime role can update
// or delete the journal, its tree and checkpoints, entries or postings
// (their grants refuse), and neither can the owner (a trigger refuses),
// until it drops the trigger: a schema change.
func TestAppendOnlyForEveryRole(t *testing.T) {
	ctx := context.Background()
	if pgtest.IsCockroach(t) {
		t.Skip("the append-only triggers are PostgreSQL's (ledger/cockroach/triggers.go)")
	}
	url := pgtest.NewOwnedDatabase(t, cockroach.RoleOwner)
	pool := mustPool(t, url)
	if err := cockroach.Migrate(ctx, pool); err != nil {
		t.Fatalf("migrating as %s: %v", cockroach.RoleOwner, err)
	}
	f := newFixture(t, url, pool, cockroach.Options{})
	f.MustOpen(t, "alice", 700)
	signer, _ := mustSigner(t, "test/journal")
	f.MustSealAll(t, f.MustSealer(t, cockroach.SealerOptions{Signer: signer}))
	for table := range historyTables {
		if n := f.mustCount(t, `SELECT count(*) FROM `+table); n == 0 {
			t.Fatalf("%s is empty: nothing to change", table)
		}
	}

	refused := func(t *testing.T, err error, byTrigger bool) {
		t.Helper()
		var pg *pgconn.PgError
		if !errors.As(err, &pg) || pg.Code != "42501" || byTrigger != strings.Contains(pg.Message, "append-only") {
			t.Errorf("%v, want SQLSTATE 42501 from the %s", err, map[bool]string{true: "trigger", false: "grants"}[byTrigger])
		}
	}
	for _, role := range []string{cockroach.RoleWriter, cockroach.RoleSealer, cockroach.RoleAuditor} {
		rolePool := f.MustOpenRolePool(t, role)
		for table, set := range historyTables {
			for _, sql := range []string{`UPDATE ` + table + ` SET ` + set, `DELETE FROM ` + table} {
				t.Run(role+"/"+sql, func(t *testing.T) {
					_, err := rolePool.Exec(ctx, sql)
					refused(t, err, false)
				})
			}
		}
	}
	for table, set := range historyTables {
		for _, sql := range []string{`UPDATE ` + table + ` SET ` + set, `DELETE FROM ` + table, `TRUNCATE ` + table + ` CASCADE`} {
			t.Run("owner/"+sql, func(t *testing.T) {
				_, err := pool.Exec(ctx, sql)
				refused(t, err, true)
			})
		}
	}
	// The owner can change history only by first changing the schema.
	if _, err := pool.Exec(ctx, `DROP TRIGGER append_only ON postings`); err != nil {
		t.Fatal(err)
	}
	tag, err := pool.Exec(ctx, `UPDATE postings SET amount = amount * 10`)
	if err != nil || tag.RowsAffected() == 0 {
		t.Fatalf("without its trigger, the owner's update: %v, %d rows", err, tag.RowsAffected())
	}
	if v := f.MustVerify(t, ledger.JournalRange{}); v.OK {
		t.Errorf("verification after the owner's edit = %+v, want a failure", v)
	}
}
