package cockroach

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
)

// The faults of the database and of the network between it and the
// ledger, told apart by SQLSTATE and error type (never by message text),
// for translate and for txn.commit.

// databaseDown reports whether the database's own error says that it, not
// the request, is at fault: it is shutting down, starting up or recovering
// (57P01, 57P02, 57P03), the connection failed (class 08), it ran out of
// resources (class 53: connections, memory, disk) or hit a system error
// (class 58), or a statement was cancelled or timed out (57014, 55P03).
// CockroachDB's ambiguous result (40003) is one too: outside a COMMIT it
// means only that a statement of a transaction that never committed was
// lost.
func databaseDown(pg *pgconn.PgError) bool {
	switch pg.Code {
	case pgerrcode.AdminShutdown, pgerrcode.CrashShutdown, pgerrcode.CannotConnectNow,
		pgerrcode.QueryCanceled, pgerrcode.LockNotAvailable, pgerrcode.StatementCompletionUnknown:
		return true
	}
	return pgerrcode.IsConnectionException(pg.Code) || pgerrcode.IsInsufficientResources(pg.Code) ||
		pgerrcode.IsSystemError(pg.Code)
}

// connectionLost reports whether err, which is not the database's answer,
// is a failure to reach it or to hear from it: a connection refused, reset,
// closed or timed out, before or during a request.
func connectionLost(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case pgconn.SafeToRetry(err), pgconn.Timeout(err), errors.As(err, &ce), errors.As(err, &ne),
		errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, net.ErrClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	for _, errno := range []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED,
		syscall.EPIPE, syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

// commitFailed marks err, the failure of the round trip that carries
// COMMIT: ErrCommit when the transaction certainly did not commit,
// ErrCommitUnknown when it may have.
func commitFailed(err error) error {
	if mayHaveCommitted(err) {
		return fmt.Errorf("%w: %w", ErrCommitUnknown, err)
	}
	return fmt.Errorf("%w: %w", ErrCommit, err)
}

// mayHaveCommitted reports whether a transaction whose COMMIT round trip
// failed with err may nevertheless have committed. It did not when nothing
// was sent, or when the database answered with an error and stayed up: it
// then ran no statement after the failed one, COMMIT included (or answered
// COMMIT with the error itself). Anything else leaves the COMMIT's fate
// unknown: a broken or timed-out connection, a FATAL error (the server
// ending the session may do so after the commit is durable and before it
// says so), and CockroachDB's ambiguous result, 40003.
func mayHaveCommitted(err error) bool {
	if pgconn.SafeToRetry(err) {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == pgerrcode.StatementCompletionUnknown || pg.Severity == "FATAL" || pg.Severity == "PANIC" ||
			pgerrcode.IsConnectionException(pg.Code)
	}
	return true
}
