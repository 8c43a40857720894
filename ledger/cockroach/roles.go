package cockroach

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
)

// The database roles the migrations create, each with only the rights its
// work needs. The online server writes as RoleWriter, which cannot change
// or remove an entry, a posting or a journal record once written; the
// sealer appends to the journal as RoleSealer; audit reads use RoleAuditor,
// which can only read.
const (
	RoleWriter  = "ledger_writer"
	RoleSealer  = "ledger_sealer"
	RoleAuditor = "ledger_auditor"
)

// RoleOwner is the role the embedded database migrates as: it owns the
// schema and may create the roles above, but is no superuser, so the
// append-only triggers (triggers.go) bind it. Elsewhere the operator
// creates an owner like it (see docs/security.md, "Database roles").
const RoleOwner = "ledger_owner"

// Roles are cluster-wide while grants are per database, and PostgreSQL has
// no CREATE ROLE IF NOT EXISTS: each role is created only when pg_roles
// (which CockroachDB also has) does not list it.
const (
	sqlRoleExists = `SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = $1`
	// The roles log in without a password where the server trusts local
	// connections (the embedded PostgreSQL); elsewhere an operator gives
	// them passwords (see docs/security.md, "Database roles").
	sqlCreateWriter  = `CREATE ROLE ledger_writer WITH LOGIN`
	sqlCreateSealer  = `CREATE ROLE ledger_sealer WITH LOGIN`
	sqlCreateAuditor = `CREATE ROLE ledger_auditor WITH LOGIN`
)

const sqlRevokeAll = `REVOKE ALL ON TABLE accounts, balances, entries, postings, holds, requests, promos,
	promo_quota, subscriptions, journal, journal_pending, sealer_lease FROM ledger_writer, ledger_sealer, ledger_auditor`

var createRoles = map[string]string{RoleWriter: sqlCreateWriter, RoleSealer: sqlCreateSealer, RoleAuditor: sqlCreateAuditor}

// sqlGrants start from nothing, so that running them again gives the same
// rights. Every later migration that adds a table grants on it too.
var sqlGrants = []string{
	sqlRevokeAll,
	// The online server: no UPDATE or DELETE on entries and postings, and
	// nothing on the journal but announcing a new entry to the sealer.
	`GRANT SELECT, INSERT, UPDATE ON TABLE balances, holds, promo_quota TO ledger_writer`,
	`GRANT SELECT, INSERT ON TABLE accounts, entries, postings, requests, promos, subscriptions TO ledger_writer`,
	`GRANT INSERT ON TABLE journal_pending TO ledger_writer`,
	// The sealer: reads what it seals, appends records, takes the lease.
	`GRANT SELECT ON TABLE entries, postings TO ledger_sealer`,
	`GRANT SELECT, INSERT ON TABLE journal TO ledger_sealer`,
	`GRANT SELECT, DELETE ON TABLE journal_pending TO ledger_sealer`,
	`GRANT SELECT, INSERT, UPDATE ON TABLE sealer_lease TO ledger_sealer`,
	// Auditors read the books and the journal, and change nothing.
	`GRANT SELECT ON TABLE accounts, balances, entries, postings, holds, promos, promo_quota, subscriptions,
		journal, journal_pending, sealer_lease TO ledger_auditor`,
}

func init() {
	statements = append(statements, sqlRoleExists, sqlCreateWriter, sqlCreateSealer, sqlCreateAuditor, sqlRevokeAll)
	statements = append(statements, sqlGrants...)
}

// rolesMigration is migration 5: the roles and their rights. It runs
// outside a transaction because a CREATE ROLE that loses a race with
// another database's migration fails, and must not undo the rest.
var rolesMigration = goose.NewGoMigration(5,
	&goose.GoFunc{RunDB: func(ctx context.Context, db *sql.DB) error {
		for _, role := range []string{RoleWriter, RoleSealer, RoleAuditor} {
			if err := createRole(ctx, db, role); err != nil {
				return err
			}
		}
		for _, g := range sqlGrants {
			if _, err := db.ExecContext(ctx, g); err != nil {
				return fmt.Errorf("grant: %w", err)
			}
		}
		return nil
	}},
	// The roles stay: other databases on the server may use them.
	&goose.GoFunc{RunDB: func(ctx context.Context, db *sql.DB) error {
		_, err := db.ExecContext(ctx, sqlRevokeAll)
		return err
	}},
)

// createRole creates role unless it exists. Two databases migrating at once
// may both see it missing; the loser's duplicate is success too.
func createRole(ctx context.Context, db *sql.DB, role string) error {
	var n int
	if err := db.QueryRowContext(ctx, sqlRoleExists, role).Scan(&n); err != nil {
		return fmt.Errorf("role %s: %w", role, err)
	}
	if n > 0 {
		return nil
	}
	_, err := db.ExecContext(ctx, createRoles[role])
	var pg *pgconn.PgError
	if errors.As(err, &pg) && (pg.Code == pgerrcode.DuplicateObject || pg.Code == pgerrcode.UniqueViolation) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create role %s: %w", role, err)
	}
	return nil
}
