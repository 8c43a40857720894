package pgserver

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// URLAs is URL for database as role, over the same unix socket; the
// server trusts its socket, so role needs no password.
func (s *Server) URLAs(database, role string) string {
	u, _ := url.Parse(s.URL(database)) // URL builds a valid URL
	u.User = url.User(role)
	return u.String()
}

// EnsureOwner makes role the owner of database and of everything in its
// public schema: a login role that may create roles but is no superuser,
// created if it is missing. An application that migrates as role then
// owns its schema without the superuser's power to bypass it (triggers,
// for one, bind an owner but not a superuser). Objects an earlier version
// created as the superuser are handed over, so that role can migrate them.
func (s *Server) EnsureOwner(ctx context.Context, database, role string) error {
	conn, err := pgx.Connect(ctx, s.URL(database))
	if err != nil {
		return fmt.Errorf("pgserver: owner of %s: %w", database, err)
	}
	defer conn.Close(context.Background())
	if err := ensureOwner(ctx, conn, database, role); err != nil {
		return fmt.Errorf("pgserver: owner of %s: %w", database, err)
	}
	return nil
}

func ensureOwner(ctx context.Context, conn *pgx.Conn, database, role string) error {
	id := pgx.Identifier{role}.Sanitize()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		_, err := conn.Exec(ctx, "CREATE ROLE "+id+" WITH LOGIN CREATEROLE NOSUPERUSER")
		var pgErr *pgconn.PgError
		if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42710") { // created meanwhile
			return err
		}
	}
	stmts := []string{
		"ALTER DATABASE " + pgx.Identifier{database}.Sanitize() + " OWNER TO " + id,
		"ALTER SCHEMA public OWNER TO " + id,
	}
	rows, err := conn.Query(ctx, `SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
			WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, quote_ident(c.relname)
		FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
			AND pg_get_userbyid(c.relowner) <> $1
			-- a column's own sequence (serial, identity) follows its table
			AND NOT EXISTS (SELECT 1 FROM pg_depend AS d WHERE d.classid = 'pg_class'::regclass
				AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
		UNION ALL
		SELECT 'FUNCTION', quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')'
		FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> $1`, role)
	if err != nil {
		return err
	}
	objects, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (string, error) {
		var kind, name string
		err := row.Scan(&kind, &name)
		return "ALTER " + kind + " public." + name + " OWNER TO " + id, err
	})
	if err != nil {
		return err
	}
	for _, stmt := range append(stmts, objects...) {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}
