package cockroach_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// TestConcurrentMigrate starts several ledgers' migrations on one fresh
// database at the same instant, as a rolling deploy does: every one must
// succeed, and the schema must come out whole.
func TestConcurrentMigrate(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	const n = 4
	pools := make([]*pgxpool.Pool, n)
	for i := range pools {
		p, err := pgxpool.New(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		pools[i] = p
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, p := range pools {
		wg.Go(func() {
			<-start
			if err := cockroach.Migrate(ctx, p); err != nil {
				t.Errorf("migration %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	var applied, latest int64
	if err := pools[0].QueryRow(ctx, `SELECT count(*), max(version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&applied, &latest); err != nil {
		t.Fatal(err)
	}
	if applied != latest {
		t.Errorf("%d migrations recorded up to version %d: some ran twice or not at all", applied, latest)
	}
	// The store works on the result.
	s := cockroach.New(pools[0], cockroach.Options{})
	if _, err := s.GetBalance(ctx, "nobody"); err == nil {
		t.Error("balance of a missing account: no error")
	}
}
