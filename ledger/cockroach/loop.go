package cockroach

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

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
