package ledgerd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/corebanking/ledger/internal/pgserver"
)

// RestartPolicy bounds how the embedded PostgreSQL is restarted after it
// exits on its own. Zero values mean the defaults.
type RestartPolicy struct {
	// Attempts is how many starts are tried before giving up; 6 by default.
	Attempts int
	// Backoff is the pause before the first attempt, doubled before each
	// next one up to MaxBackoff; 500ms and 10s by default (about 25s in
	// all over six attempts, besides the starts themselves).
	Backoff, MaxBackoff time.Duration
}

func (p RestartPolicy) withDefaults() RestartPolicy {
	if p.Attempts <= 0 {
		p.Attempts = 6
	}
	if p.Backoff <= 0 {
		p.Backoff = 500 * time.Millisecond
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 10 * time.Second
	}
	return p
}

// embedded owns the embedded PostgreSQL: the lock on its data directory,
// held for the process's lifetime, and the running postmaster, which it
// restarts when it exits on its own. While it is down the readiness probe
// fails at once (see check), so health says NOT_SERVING for the gap; if it
// cannot be restarted, fatal reports why and the program exits rather
// than serve without a database.
type embedded struct {
	cfg    pgserver.Config
	policy RestartPolicy
	log    *slog.Logger
	lock   *pgserver.DirLock
	fatal  chan error // one error, when supervision gives up

	mu      sync.Mutex
	pg      *pgserver.Server // nil while restarting
	changed func()           // told when the postmaster goes or comes back

	stop context.CancelFunc
	done chan struct{}
}

// errRestarting is the probe's answer while the postmaster is down.
var errRestarting = errors.New("the embedded PostgreSQL exited; restarting it")

// lockEmbedded locks dataDir for this process's lifetime. A data directory
// another process holds is refused at once, before anything in it, or
// beside it, is touched.
func lockEmbedded(dataDir string, policy RestartPolicy, log *slog.Logger) (*embedded, error) {
	lock, err := pgserver.LockDir(dataDir)
	if err != nil {
		return nil, err
	}
	e := &embedded{policy: policy.withDefaults(), log: log, lock: lock, fatal: make(chan error, 1), done: make(chan struct{})}
	e.cfg = pgserver.Config{DataDir: dataDir, Logf: func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) }}
	e.stop = func() {}
	close(e.done)
	return e, nil
}

// start starts PostgreSQL and supervises it until close.
func (e *embedded) start(ctx context.Context) error {
	e.log.Info("starting embedded PostgreSQL", "data_dir", e.cfg.DataDir)
	pg, err := pgserver.Start(ctx, e.cfg)
	if err != nil {
		return err
	}
	e.set(pg)
	var superviseCtx context.Context
	superviseCtx, e.stop = context.WithCancel(context.WithoutCancel(ctx))
	e.done = make(chan struct{})
	go e.supervise(superviseCtx)
	return nil
}

// server returns the running postmaster, or nil while it restarts.
func (e *embedded) server() *pgserver.Server {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pg
}

// check fails while the postmaster is down: the readiness probe asks it
// first, so the gap shows at once.
func (e *embedded) check() error {
	if e.server() == nil {
		return errRestarting
	}
	return nil
}

// onChange sets what to tell when the postmaster goes or comes back.
func (e *embedded) onChange(f func()) {
	e.mu.Lock()
	e.changed = f
	e.mu.Unlock()
}

func (e *embedded) set(pg *pgserver.Server) {
	e.mu.Lock()
	e.pg = pg
	changed := e.changed
	e.mu.Unlock()
	if changed != nil {
		changed()
	}
}

// supervise waits for the postmaster to exit and restarts it, until ctx ends.
func (e *embedded) supervise(ctx context.Context) {
	defer close(e.done)
	for {
		pg := e.server()
		select {
		case <-ctx.Done():
			return
		case <-pg.Exited():
		}
		if ctx.Err() != nil {
			return
		}
		e.set(nil)
		e.log.Error("embedded PostgreSQL exited unexpectedly; restarting it", "status", fmt.Sprint(pg.ExitErr()),
			"log_tail", pg.LogTail())
		next, err := e.restart(ctx)
		if err != nil {
			if ctx.Err() == nil {
				e.fatal <- err
			}
			return
		}
		e.set(next)
	}
}

// restart starts the postmaster again, with bounded, logged backoff.
func (e *embedded) restart(ctx context.Context) (*pgserver.Server, error) {
	wait := e.policy.Backoff
	var err error
	for attempt := 1; attempt <= e.policy.Attempts; attempt++ {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		var pg *pgserver.Server
		if pg, err = pgserver.Start(ctx, e.cfg); err == nil {
			e.log.Info("embedded PostgreSQL restarted", "attempt", attempt)
			return pg, nil
		}
		e.log.Error("embedded PostgreSQL did not restart", "attempt", attempt, "of", e.policy.Attempts, "error", err)
		wait = min(2*wait, e.policy.MaxBackoff)
	}
	return nil, fmt.Errorf("the embedded PostgreSQL in %s exited and could not be restarted (%d attempts); "+
		"stopping rather than serving without a database: %w", e.cfg.DataDir, e.policy.Attempts, err)
}

// close stops supervising, stops the postmaster and releases the lock.
func (e *embedded) close() error {
	e.stop()
	<-e.done
	var err error
	if pg := e.server(); pg != nil {
		err = pg.Stop()
	}
	return errors.Join(err, e.lock.Unlock())
}
