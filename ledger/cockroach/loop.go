package cockroach

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// A lease is a row of a lease table (sealer_lease, payout_lease): while a
// worker holds it, the others of its kind wait. takeLease takes the row $1
// for holder $2 for $3 milliseconds when it is free or expired, or renews
// it for its holder, and returns its epoch; it returns no row while another
// holder's lease runs. The epoch grows with every change of holder. Expiry
// is judged by the database's clock, which every replica shares, not by
// each replica's own. releaseLease ends the holder's lease early, so that
// another worker need not wait for it to expire.
const (
	takeLease = `INSERT INTO LEASE_TABLE (name, holder, epoch, expires_at)
		VALUES ($1, $2, 1, current_timestamp + CAST($3 AS INT8) * INTERVAL '1 millisecond')
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
			epoch = CASE WHEN LEASE_TABLE.holder = excluded.holder THEN LEASE_TABLE.epoch ELSE LEASE_TABLE.epoch + 1 END
		WHERE LEASE_TABLE.holder = excluded.holder OR LEASE_TABLE.expires_at < current_timestamp
		RETURNING epoch`
	releaseLease = `UPDATE LEASE_TABLE SET expires_at = current_timestamp WHERE name = $1 AND holder = $2`
)

// takeLeaseSQL is takeLease for the lease table named table.
func takeLeaseSQL(table string) string {
	return strings.ReplaceAll(takeLease, "LEASE_TABLE", table)
}

// releaseLeaseSQL is releaseLease for the lease table named table.
func releaseLeaseSQL(table string) string {
	return strings.ReplaceAll(releaseLease, "LEASE_TABLE", table)
}

// queueTakeLease queues into b the taking or renewal, by take (a
// takeLeaseSQL), of the lease row name for holder, to last ttl: *leader
// then says whether holder holds it, and *epoch its epoch.
func queueTakeLease(b *pgx.Batch, take, name, holder string, ttl time.Duration, leader *bool, epoch *int64) {
	b.Queue(take, name, holder, ttl.Milliseconds()).QueryRow(func(row pgx.Row) error {
		err := row.Scan(epoch)
		*leader = err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
}

// leaseLoop is the life of a background worker that holds a lease: the
// journal sealer and the promo payer. It runs one transaction after
// another until its context ends, then gives up the lease. Errors are
// logged and retried after a pause that grows with each failure, up to the
// lease's lifetime; they never end the loop, and a panic in a transaction
// is one of them: the worker runs beside the server and must not take it
// down.
type leaseLoop struct {
	what, holder       string // for the log
	interval, leaseTTL time.Duration
	logger             *slog.Logger
	onError            func(error)
	// once runs one transaction and reports whether more work waits, in
	// which case the next runs at once.
	once func(context.Context) (more bool, err error)
	// release gives up the lease.
	release func(context.Context) error
}

func (l leaseLoop) run(ctx context.Context) {
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := l.release(rctx); err != nil {
			l.logger.Warn(l.what+": release lease", "holder", l.holder, "error", err)
		}
	}()
	failures := 0
	for ctx.Err() == nil {
		more, err := l.safely(ctx)
		wait := l.interval
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failures++
			wait = min(l.interval<<min(failures, 5), l.leaseTTL)
			l.logger.Error(l.what, "holder", l.holder, "error", err, "retry_in", wait)
			if l.onError != nil {
				l.onError(err)
			}
		case more:
			failures, wait = 0, 0
		default:
			failures = 0
		}
		if sleep(ctx, wait) != nil {
			return
		}
	}
}

func (l leaseLoop) safely(ctx context.Context) (more bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return l.once(ctx)
}
