package cockroach

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/ledger"
)

func TestTimePost(t *testing.T) {
	if os.Getenv("TIMEPOST") == "" {
		t.Skip()
	}
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	pool, _ := pgxpool.New(ctx, url)
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	s := New(pool, Options{})
	pool.Exec(ctx, `INSERT INTO accounts SELECT 'a' || i, 'c', 'KRW', 'CUSTOMER', 'ACTIVE', 1, now() FROM generate_series(0, 9999) AS i`)
	pool.Exec(ctx, `INSERT INTO balances (account_id, shard, posted) SELECT 'a' || i, 0, 1000000 FROM generate_series(0, 9999) AS i`)
	pool.Exec(ctx, "VACUUM ANALYZE")
	conn, _ := pool.Acquire(ctx)
	defer conn.Release()
	for _, n := range []int{1, 9, 100} {
		var total time.Duration
		var samples []float64
		iters := 3000 / n
		for it := range iters {
			var props []*proposal
			for i := range n {
				k := it*n + i
				e := ledger.NewMove(ledger.EntryTransfer, fmt.Sprintf("r%d-%d", n, k), "", fmt.Sprintf("a%d", (k*7)%10000), fmt.Sprintf("a%d", (k*13+1)%10000), "KRW", 5)
				p := s.newProposal(ctx, []byte{1}, e, nil)
				p.begin(time.Now())
				s.pickShards(p)
				props = append(props, p)
			}
			tx, _ := conn.Begin(ctx)
			if os.Getenv("SEQ") != "" {
				tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan")
			} else {
				tx.Exec(ctx, sqlGenericPlan)
			}
			b := &pgx.Batch{}
			queuePost(b, props, time.Now(), false)
			if os.Getenv("EXPLAIN") != "" && n == 9 && it == iters-1 {
				q := b.QueuedQueries[0]
				rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, TIMING) "+q.SQL, q.Arguments...)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var line string
					rows.Scan(&line)
					fmt.Println(line)
				}
				rows.Close()
				tx.Rollback(ctx)
				tx, _ = conn.Begin(ctx)
				tx.Exec(ctx, sqlGenericPlan)
				for _, p := range props {
					p.begin(time.Now())
				}
				b = &pgx.Batch{}
				queuePost(b, props, time.Now(), false)
			}
			q := b.QueuedQueries[0]
			rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) "+q.SQL, q.Arguments...)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var line string
				rows.Scan(&line)
				var ms float64
				if _, err := fmt.Sscanf(line, "Execution Time: %f ms", &ms); err == nil {
					samples = append(samples, ms)
				}
			}
			rows.Close()
			tx.Commit(ctx)

		}
		_ = total
		sort.Float64s(samples)
		fmt.Printf("n=%d: median %.1f us per entry (server execution)\n", n, 1000*samples[len(samples)/2]/float64(n))
	}
}
