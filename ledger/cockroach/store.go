// Package cockroach stores the ledger in CockroachDB, or in PostgreSQL,
// which speaks the same wire protocol, through pgx. Every write runs as one
// SERIALIZABLE transaction that is retried as a whole when the database
// asks for a retry.
package cockroach

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/cockroachdb/cockroach-go/v2/crdb"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/corebanking/ledger/ledger"
)

// Options tune a Store. The zero value of each field means its default.
type Options struct {
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// VaultShards is how many balance rows the vault and settlement accounts
	// of each currency are split into; 16 by default.
	VaultShards int
	// ATMShards is how many balance rows each ATM's cash account has; 4 by default.
	ATMShards int
	// PromoShards is how many rows a promo's quota is split into, at most;
	// 64 by default (fewer when the quota holds fewer largest
	// subscriptions). 1 is the single counter row, kept to measure the
	// difference.
	PromoShards int
	// MoveBatch is the most entries (from transfers, deposits,
	// withdrawals, general entries, reversals and independent batches)
	// that one transaction carries when they arrive together (group
	// commit, see batch.go); 32 by default. 1 turns batching off: every
	// entry is a transaction of its own.
	MoveBatch int
	// MoveLanes is how many transactions of batched entries run at once;
	// the entries that arrive meanwhile wait for the next. 2 by default.
	MoveLanes int
	// MaxRetries bounds how often a transaction is retried after a
	// serialization failure; 30 by default.
	MaxRetries int
	// Logger receives retries and internal errors; slog.Default() by default.
	Logger *slog.Logger
	// OnRetry, if set, is told of every failed attempt that will be retried.
	OnRetry func(attempt int, err error)
	// OnRuleDisagreement, if set, is told of every entry on which the
	// posting statement and the ledger's rules in Go disagree (a bug in one
	// of them): whether the statement posted it, and the rules' verdict.
	OnRuleDisagreement func(entryID string, posted bool, rule error)
	// PageKey authenticates statement page tokens (ledger.PageTokens):
	// every store that pages the same statements must share it, as
	// LoadPageKey gives it. Empty: a random key of this store's own.
	PageKey []byte
	// BeforeCommit, if set, runs just before each attempt's last round trip,
	// which carries COMMIT; a transaction that is one round trip is split
	// so that it runs just before COMMIT. Fault injection tests use it to
	// provoke serialization failures at commit time.
	BeforeCommit func(ctx context.Context, attempt int) error
}

// The defaults of Options.MoveBatch and Options.MoveLanes. Two lanes keep
// the database busy while one batch waits for its COMMIT's flush and the
// other runs, and let the entries that arrive meanwhile gather into
// batches (docs/benchmark.md has the measurements).
const (
	DefaultMoveBatch = 32
	DefaultMoveLanes = 2
)

// ErrCommit marks a failure of a transaction's last round trip, the one
// that carries its final writes and COMMIT, after which the transaction
// certainly did not commit: nothing was sent, or the database refused a
// statement or the COMMIT and went on serving. It wraps the database's
// error, so a 40001 is still retried.
var ErrCommit = errors.New("commit failed")

// ErrCommitUnknown marks a failure of that last round trip after which the
// transaction may have committed: the COMMIT went out and no answer of the
// database's says it did not (the connection broke, the server shut down,
// the time ran out while waiting, or CockroachDB reported an ambiguous
// result). It is never retried inside the store; the caller learns the
// outcome by sending the request again with the same id (OUTCOME_UNKNOWN).
var ErrCommitUnknown = errors.New("commit sent, outcome unknown")

// Store is a ledger.Ledger on a pgx connection pool.
type Store struct {
	pool    *pgxpool.Pool
	opt     Options
	promos  promoCache
	batcher *batcher // nil when batching is off
	pages   *ledger.PageTokens
}

var _ ledger.Ledger = (*Store)(nil)

// New returns a Store that runs its queries on pool. The schema must have
// been migrated (see Migrate).
func New(pool *pgxpool.Pool, opt Options) *Store {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.VaultShards <= 0 {
		opt.VaultShards = 16
	}
	if opt.ATMShards <= 0 {
		opt.ATMShards = 4
	}
	opt.VaultShards = min(opt.VaultShards, ledger.MaxShards)
	opt.ATMShards = min(opt.ATMShards, ledger.MaxShards)
	if opt.PromoShards <= 0 {
		opt.PromoShards = 64
	}
	opt.PromoShards = min(opt.PromoShards, 1024)
	if opt.MoveBatch == 0 {
		opt.MoveBatch = DefaultMoveBatch
	}
	if opt.MoveLanes <= 0 {
		opt.MoveLanes = DefaultMoveLanes
	}
	if opt.MaxRetries <= 0 {
		opt.MaxRetries = 30
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	s := &Store{pool: pool, opt: opt, pages: ledger.NewPageTokens(opt.PageKey)}
	s.batcher = newBatcher(s)
	return s
}

// now returns the store's time at the database's precision, so that a
// result replayed from the idempotency record equals the original.
func (s *Store) now() time.Time { return s.opt.Now().UTC().Truncate(time.Microsecond) }

// inTx runs fn in a SERIALIZABLE transaction and retries the whole
// transaction, with jittered exponential backoff, while the database
// reports a serialization failure. The error of COMMIT is fn's error too: a
// transaction that did not commit is never reported as done.
func (s *Store) inTx(ctx context.Context, fn func(*txn) error) error {
	return s.translate(s.retryTx(ctx, s.opt.MaxRetries, retryable, fn))
}

// retryTx is inTx with its error untranslated, at most maxRetries retries,
// and mark choosing which errors besides 40001 retry (see retryable).
func (s *Store) retryTx(ctx context.Context, maxRetries int, mark func(error) error, fn func(*txn) error) error {
	attempt, lookup := 0, false
	ctx = crdb.WithMaxRetries(ctx, maxRetries)
	return crdb.ExecuteCtx(ctx, func(ctx context.Context, _ ...any) error {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return err
			}
		}
		attempt++
		err := s.attempt(ctx, attempt, lookup, fn)
		var pg *pgconn.PgError
		lookup = lookup || errors.As(err, &pg) && pg.Code == pgerrcode.UniqueViolation
		err = mark(err)
		if err != nil && s.opt.OnRetry != nil && crdbRetryable(err) {
			s.opt.OnRetry(attempt, err)
		}
		return err
	})
}

// attempt is one try of a transaction on one connection. A transaction that
// fn did not commit (an error, a replay, a refusal) is rolled back.
func (s *Store) attempt(ctx context.Context, n int, lookup bool, fn func(*txn) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	t := &txn{conn: conn.Conn(), attempt: n, lookup: lookup, beforeCommit: s.opt.BeforeCommit}
	err = fn(t)
	if t.begun && !t.committed {
		if _, rerr := t.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			conn.Hijack().Close(context.WithoutCancel(ctx)) // unknown state: never reuse it
		}
	}
	return err
}

// crdbRetryable reports whether crdb.ExecuteCtx will retry err.
func crdbRetryable(err error) bool {
	var st interface{ SQLState() string }
	return errors.As(err, &st) && st.SQLState() == pgerrcode.SerializationFailure
}

// backoff is full jitter over an exponential ceiling: 1ms, 2ms, ... 64ms.
func backoff(attempt int) time.Duration {
	ceiling := time.Millisecond << min(attempt-1, 6)
	return rand.N(ceiling) + time.Millisecond/4
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryError marks an error that should restart the whole transaction; it
// reports SQLSTATE 40001 so that crdb.ExecuteCtx retries it.
type retryError struct{ cause error }

func (e retryError) Error() string    { return e.cause.Error() }
func (e retryError) Unwrap() error    { return e.cause }
func (e retryError) SQLState() string { return pgerrcode.SerializationFailure }

// retryable marks the errors besides 40001 that a fresh attempt resolves:
// a deadlock, and a unique violation, which means a concurrent transaction
// inserted the same key first (every insert path looks for the key on a
// retry, so the next attempt sees the row and answers from it).
func retryable(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && (pg.Code == pgerrcode.DeadlockDetected || pg.Code == pgerrcode.UniqueViolation) {
		return retryError{err}
	}
	return err
}

// translate turns what the driver and the retry loop return into the
// ledger's errors, by SQLSTATE and error type, never by message text. Every
// failure of the database or of the way to it is DATABASE_UNAVAILABLE, or
// OUTCOME_UNKNOWN once a COMMIT was sent; contention that outlasted the
// retries is UNAVAILABLE; INTERNAL is left for what only a bug explains.
// Context errors pass through as they are: the server knows whose deadline
// it was.
func (s *Store) translate(err error) error {
	if err == nil {
		return nil
	}
	var le *ledger.Error
	switch {
	case errors.As(err, &le):
		return err
	case errors.Is(err, ErrCommitUnknown):
		return &ledger.Error{Code: ledger.CodeOutcomeUnknown, Message: "commit sent, outcome unknown", Err: err}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return err
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case pg.Code == pgerrcode.NumericValueOutOfRange:
			return &ledger.Error{Code: ledger.CodeBalanceLimitExceeded, Message: "balance limit", Err: err}
		case pg.Code == pgerrcode.SerializationFailure, pg.Code == pgerrcode.DeadlockDetected,
			pg.Code == pgerrcode.UniqueViolation:
			return &ledger.Error{Code: ledger.CodeUnavailable, Message: "contention: retries exhausted", Err: err}
		case databaseDown(pg):
			return &ledger.Error{Code: ledger.CodeDatabaseUnavailable, Message: "database unavailable", Err: err}
		}
		return &ledger.Error{Code: ledger.CodeInternal, Message: "database error", Err: err}
	}
	if connectionLost(err) {
		return &ledger.Error{Code: ledger.CodeDatabaseUnavailable, Message: "database unreachable", Err: err}
	}
	return &ledger.Error{Code: ledger.CodeInternal, Message: "unexpected store error", Err: err}
}
