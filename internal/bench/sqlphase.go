package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// The SQL phase runs the ledger's own transfer statement through pgbench
// (cockroach.PgbenchTransfer) on a database of its own with the ledger's
// schema: the database's share of a ledger transfer, without gRPC, Go or
// pgx. Its ratio to pgbench's bare transfer is the ceiling the ledger's
// data model sets; what separates it from the ledger's own ratio is the
// server's cost.

// sqlAccountPrefix names the SQL phase's accounts: sql-1 to sql-N.
const sqlAccountPrefix = "sql-"

// setupSQL creates the SQL phase's database at url (the ledger's schema and
// cfg.Accounts funded accounts) and its script in dir.
func (m *Main) setupSQL(ctx context.Context, url, dir string) (*pgbench, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if err := cockroach.Migrate(ctx, pool); err != nil {
		return nil, fmt.Errorf("the SQL phase's schema: %w", err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO accounts (account_id, customer_id, currency, kind, status, shards, created_at)
			SELECT $1 || i, 'customer-' || i, $2, $3, $4, 1, now() FROM generate_series(1, $5) AS i`,
			[]any{sqlAccountPrefix, currency, ledger.KindCustomer.String(), ledger.StatusActive.String(), m.cfg.Accounts}},
		{`INSERT INTO balances (account_id, shard, posted) SELECT $1 || i, 0, $2 FROM generate_series(1, $3) AS i`,
			[]any{sqlAccountPrefix, int64(openingBalance), m.cfg.Accounts}},
		{`ANALYZE`, nil},
	} {
		if _, err := pool.Exec(ctx, q.sql, q.args...); err != nil {
			return nil, fmt.Errorf("the SQL phase's accounts: %w", err)
		}
	}
	script := filepath.Join(dir, "ledger-transfer.sql")
	if err := os.WriteFile(script, []byte(cockroach.PgbenchTransfer(sqlAccountPrefix, m.cfg.Accounts, currency)), 0o644); err != nil {
		return nil, err
	}
	p, err := newPgbench(url, script)
	if err != nil {
		return nil, err
	}
	p.noVacuum = true
	return p, nil
}

// sqlPhase runs the SQL phase, when it runs at all, and sets the run's SQL ratio.
func (m *Main) sqlPhase(ctx context.Context, r *Run) error {
	if m.sql == nil {
		return nil
	}
	res, err := m.runPgbench(ctx, r.N, m.sql, "the ledger's transfer statement through pgbench")
	if err != nil {
		return err
	}
	r.SQL = res
	if r.Pgbench != nil && r.Pgbench.TPS > 0 {
		r.SQLRatio = res.TPS / r.Pgbench.TPS
	}
	return nil
}
