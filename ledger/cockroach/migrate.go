package cockroach

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// goMigrations are the migrations written in Go: the roles, the
// append-only triggers and the journal's storage and statistics, which
// run on PostgreSQL only, and a constraint that the two databases drop in
// words of their own.
var goMigrations = []*goose.Migration{rolesMigration, appendOnlyMigration, treeChunksAppendOnlyMigration,
	journalEntryKeyMigration, journalBlocksMigration, journalStatisticsMigration}

// The unique constraint on journal.entry_id (migration 3), which migration
// 44 replaced: PostgreSQL drops it as a constraint, CockroachDB as the
// index behind it. Going down, a unique index takes its place on both.
const (
	sqlDropJournalEntryKey          = `ALTER TABLE journal DROP CONSTRAINT IF EXISTS journal_entry_id_key`
	sqlDropJournalEntryKeyCockroach = `DROP INDEX IF EXISTS journal@journal_entry_id_key CASCADE`
	sqlRestoreJournalEntryKey       = `CREATE UNIQUE INDEX IF NOT EXISTS journal_entry_id_key ON journal (entry_id)`
)

func init() {
	statements = append(statements, sqlDropJournalEntryKey, sqlDropJournalEntryKeyCockroach, sqlRestoreJournalEntryKey)
}

// journalEntryKeyMigration is migration 45: journal.entry_id is no longer
// unique on its own (see migration 44).
var journalEntryKeyMigration = goose.NewGoMigration(45,
	&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		crdb, err := onCockroach(ctx, tx)
		if err != nil {
			return err
		}
		drop := sqlDropJournalEntryKey
		if crdb {
			drop = sqlDropJournalEntryKeyCockroach
		}
		_, err = tx.ExecContext(ctx, drop)
		return err
	}},
	&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, sqlRestoreJournalEntryKey)
		return err
	}},
)

// Migrate brings the schema up to date with the migrations embedded in the
// binary, and creates the roles the ledger's pools use (see roles.go). It
// is safe to run at every start, and from several ledgers at once. pool
// must belong to the database's owner, with the right to create roles.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return migrateTo(ctx, pool, math.MaxInt64)
}

// migrateTo applies the migrations up to version.
func migrateTo(ctx context.Context, pool *pgxpool.Pool, version int64) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	// Ledgers that start at once (a rolling deploy) take turns: the lock is
	// a row in a table of goose's, under a lease that a ledger dying
	// mid-migration gives up after 30s. No advisory lock: CockroachDB has
	// none.
	locker, err := lock.NewPostgresTableLocker(
		lock.WithTableName("ledger_migration_lock"),
		lock.WithTableLockTimeout(250*time.Millisecond, 1200), // 5 minutes
		lock.WithTableUnlockTimeout(250*time.Millisecond, 240),
	)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithGoMigrations(goMigrations...), goose.WithLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
