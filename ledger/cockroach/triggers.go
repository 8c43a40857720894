package cockroach

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/pressly/goose/v3"
)

// History is append-only for every role, the database's owner included:
// triggers refuse UPDATE, DELETE and TRUNCATE on the journal, its tree and
// checkpoints, the entries and their postings. Grants already keep the
// ledger's own roles from changing them (roles.go); the triggers stop the
// owner, whose rights grants cannot take away, so that history can change
// only by first dropping a trigger: a schema change, which PostgreSQL logs
// (log_statement = ddl, as the embedded server runs) and which a
// superuser alone can avoid (session_replication_role = replica). Against
// a superuser the defence is outside the database: the signed checkpoints
// and the witness (docs/journal.md).
//
// The statements are PostgreSQL's own (PL/pgSQL, statement triggers,
// TRUNCATE triggers), so they are not in the statements list that the
// CockroachDB parser test reads, and migration 31 runs them only on
// PostgreSQL. On CockroachDB it does nothing; the grants and the
// checkpoints remain (see docs/journal.md for what an operator there can
// add by hand).

// appendOnlyTables are the tables whose rows, once written, never change,
// as migration 31 found them; migration 35 adds journal_tree_chunks, which
// replaced journal_tree (migration 34).
var appendOnlyTables = []string{"journal", "journal_tree", "journal_checkpoints", "entries", "postings"}

const sqlAppendOnlyFunction = `CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'ledger: % on % is refused: the table is append-only', TG_OP, TG_TABLE_NAME
		USING ERRCODE = 'insufficient_privilege',
			HINT = 'Rows of this table never change. Only dropping this trigger, a schema change, allows it.';
END
$$`

// appendOnlyTriggers are the statements that make tables append-only.
func appendOnlyTriggers(tables ...string) []string {
	var out []string
	for _, t := range tables {
		out = append(out, fmt.Sprintf(`CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON %s
			FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()`, t))
	}
	return out
}

// dropAppendOnlyTriggers undoes appendOnlyTriggers.
func dropAppendOnlyTriggers(tables ...string) []string {
	var out []string
	for _, t := range tables {
		out = append(out, fmt.Sprintf(`DROP TRIGGER IF EXISTS append_only ON %s`, t))
	}
	return out
}

// appendOnlyMigration is migration 31: the triggers, on PostgreSQL only.
var appendOnlyMigration = goose.NewGoMigration(31,
	&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		return runOnPostgres(ctx, tx, append([]string{sqlAppendOnlyFunction}, appendOnlyTriggers(appendOnlyTables...)...))
	}},
	&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		return runOnPostgres(ctx, tx, append(dropAppendOnlyTriggers(appendOnlyTables...), `DROP FUNCTION IF EXISTS ledger_append_only()`))
	}},
)

// treeChunksAppendOnlyMigration is migration 35: the trigger on the tree's
// new table, on PostgreSQL only.
var treeChunksAppendOnlyMigration = goose.NewGoMigration(35,
	&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		return runOnPostgres(ctx, tx, appendOnlyTriggers("journal_tree_chunks"))
	}},
	&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		return runOnPostgres(ctx, tx, dropAppendOnlyTriggers("journal_tree_chunks"))
	}},
)

// journalBlocksMigration is migration 49, on PostgreSQL only: the trigger
// on the journal's table of blocks (migration 46); and the blocks' arrays
// and the tree's chunks stored out of line without compression. Hashes and
// random ids do not compress, and trying cost the sealer a tenth of its
// time.
var journalBlocksMigration = goose.NewGoMigration(49,
	&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		return runOnPostgres(ctx, tx, append(appendOnlyTriggers("journal_blocks"), sqlColumnStorage("EXTERNAL")...))
	}},
	&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		return runOnPostgres(ctx, tx, append(dropAppendOnlyTriggers("journal_blocks"), sqlColumnStorage("EXTENDED")...))
	}},
)

// journalStatisticsMigration is migration 52, on PostgreSQL only: no
// statistics on the blocks' arrays. ANALYZE computes statistics of the
// elements of every array up to 64 kB, as a block's are, in every sampled
// row (up to 30,000): 330 ms for 389 blocks of 600,000 records, against
// 1.7 ms without. Autovacuum analyzes the table each time a tenth of it is
// new, so that cost per block never shrinks: a few percent of a core
// under steady load, for statistics no query uses (nothing filters on the
// arrays' elements). Migrations 50 and 51 were tried and taken out again.
var journalStatisticsMigration = goose.NewGoMigration(52,
	&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		return runOnPostgres(ctx, tx, sqlArrayStatistics(0))
	}},
	&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		return runOnPostgres(ctx, tx, sqlArrayStatistics(-1))
	}},
)

// journalArrays are the blocks' arrays, a record each element.
var journalArrays = []string{"entry_ids", "posted_ats", "hashes"}

// sqlArrayStatistics sets the statistics target of the blocks' arrays: 0
// for none, -1 for the server's default.
func sqlArrayStatistics(target int) []string {
	var out []string
	for _, column := range journalArrays {
		out = append(out, fmt.Sprintf(`ALTER TABLE journal_blocks ALTER COLUMN %s SET STATISTICS %d`, column, target))
	}
	return out
}

// sqlColumnStorage sets the storage of the journal's large columns:
// EXTERNAL (out of line, not compressed) or EXTENDED (PostgreSQL's default).
func sqlColumnStorage(storage string) []string {
	var out []string
	for _, column := range journalArrays {
		out = append(out, fmt.Sprintf(`ALTER TABLE journal_blocks ALTER COLUMN %s SET STORAGE %s`, column, storage))
	}
	return append(out, `ALTER TABLE journal_tree_chunks ALTER COLUMN nodes SET STORAGE `+storage)
}

// runOnPostgres runs stmts, unless the database is CockroachDB.
func runOnPostgres(ctx context.Context, tx *sql.Tx, stmts []string) error {
	if crdb, err := onCockroach(ctx, tx); err != nil || crdb {
		return err
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// onCockroach reports whether tx runs on CockroachDB.
func onCockroach(ctx context.Context, tx *sql.Tx) (bool, error) {
	var version string
	if err := tx.QueryRowContext(ctx, `SELECT version()`).Scan(&version); err != nil {
		return false, err
	}
	return isCockroach(version), nil
}

// isCockroach reports whether the text of SELECT version() is CockroachDB's.
func isCockroach(version string) bool { return strings.Contains(version, "CockroachDB") }
