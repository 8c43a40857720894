package cockroach_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// TestCommitTimeSerializationFailure makes every transfer fail once with
// SQLSTATE 40001 at commit time, the failure that cockroach-go's
// savepoint helper reports as success on PostgreSQL. Just before the round
// trip that carries the transfer's last writes and COMMIT, a second
// transaction reads the balance the transfer changed and rewrites the
// account row the transfer read, then commits: a read-write cycle that
// PostgreSQL's serializable isolation can only break by cancelling the
// transfer as it tries to commit. The store must retry the whole
// transaction, and every acknowledged transfer must be in the books exactly
// once.
func TestCommitTimeSerializationFailure(t *testing.T) {
	ctx := context.Background()
	var commitFailures atomic.Int64
	var provoked sync.Map // transfers whose commit was provoked to fail, by source account
	var f *fixture
	f = MustOpenStore(t, cockroach.Options{
		MoveBatch: 1, // each transfer alone: batches are TestBatchCommitTimeSerializationFailure's
		OnRetry: func(_ int, err error) {
			var pg *pgconn.PgError
			if errors.Is(err, cockroach.ErrCommit) && errors.As(err, &pg) && pg.Code == pgerrcode.SerializationFailure {
				commitFailures.Add(1)
			}
		},
		BeforeCommit: func(ctx context.Context, _ int) error {
			from, ok := ctx.Value(fromKey{}).(string)
			if _, done := provoked.LoadOrStore(from, true); !ok || done {
				return nil // not a transfer of this test, or already provoked once
			}
			return f.provokeCommitConflict(ctx, from)
		},
	})
	const n = 20
	for i := range n {
		f.MustOpen(t, fmt.Sprintf("a%d", i), 1_000)
	}
	f.MustOpen(t, "sink", 0)
	commitFailures.Store(0) // count only the transfers below

	var wg sync.WaitGroup
	acked := make([]ledger.Entry, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := fmt.Sprintf("a%d", i)
			e, err := f.Transfer(context.WithValue(ctx, fromKey{}, from), ledger.TransferRequest{
				RequestID: "t-" + from, From: from, To: "sink", Amount: 100 + int64(i), Currency: "KRW",
			})
			if err != nil {
				t.Errorf("transfer from %s: %v", from, err)
			}
			acked[i] = e
		}()
	}
	wg.Wait()
	if got := commitFailures.Load(); got < n {
		t.Fatalf("saw %d commit-time serialization failures, want at least %d: the test did not provoke them", got, n)
	}
	var want int64
	for i, e := range acked {
		var count int
		if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM entries WHERE entry_id = $1 AND request_id = $2`, e.ID, fmt.Sprintf("t-a%d", i)).Scan(&count); err != nil || count != 1 {
			t.Errorf("acknowledged entry %q of transfer %d found %d times (%v)", e.ID, i, count, err)
		}
		want += 100 + int64(i)
	}
	if b := f.MustBalance(t, "sink"); b.Posted != want {
		t.Fatalf("sink = %d, acknowledged transfers sum to %d", b.Posted, want)
	}
	f.AssertBooksBalance(t)
	t.Logf("%d commit-time serialization failures, all retried", commitFailures.Load())
}

type fromKey struct{}

// provokeCommitConflict commits, on a connection of its own (the transfer
// about to commit holds one of the pool's), a transaction that reads the
// balance of account and rewrites its account row: with a transaction that
// changed that balance after reading that row, a read-write cycle that
// PostgreSQL breaks by failing the later COMMIT.
func (f *fixture) provokeCommitConflict(ctx context.Context, account string) error {
	conn, err := pgx.ConnectConfig(ctx, f.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.Serializable}, func(tx pgx.Tx) error {
		var sum int64
		if err := tx.QueryRow(ctx, `SELECT CAST(sum(posted) AS INT8) FROM balances WHERE account_id = $1`, account).Scan(&sum); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE accounts SET status = status WHERE account_id = $1`, account)
		return err
	})
}
