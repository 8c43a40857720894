package cockroach_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// TestQualityOfService checks the hook's choices, and that on PostgreSQL,
// which has no quality of service and refuses the SET, a pool with the hook
// still connects and works. (The statements themselves are checked by the
// CockroachDB parser with the others.)
func TestQualityOfService(t *testing.T) {
	if hook, err := cockroach.QualityOfService(""); hook != nil || err != nil {
		t.Fatalf(`QualityOfService("") = %v, %v; want no hook`, hook != nil, err)
	}
	if _, err := cockroach.QualityOfService("urgent"); err == nil {
		t.Fatal(`QualityOfService("urgent") accepted`)
	}
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AfterConnect, err = cockroach.QualityOfService("background"); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var one int
	if err := pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("a query on PostgreSQL through the hook: %d, %v", one, err)
	}
	// The same SET, sent to PostgreSQL, is refused: the hook must have
	// skipped it.
	if _, err := pool.Exec(ctx, "SET default_transaction_quality_of_service = background"); err == nil {
		t.Fatal("PostgreSQL accepted a quality of service; the hook's test of the server is wrong")
	}
}
