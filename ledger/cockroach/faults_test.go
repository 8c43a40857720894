package cockroach_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// pgErr is the database's error with SQLSTATE code, as pgx reports it.
func pgErr(code, severity string) error {
	return &pgconn.PgError{Code: code, Severity: severity, SeverityUnlocalized: severity, Message: "from the database"}
}

// Every error the driver and the network can produce under a fault is
// UNAVAILABLE with a stable reason, and INTERNAL is left for the errors
// only a bug explains. The cases are the driver's own error values: those
// it exports, built here, and the rest provoked from a real connection.
func TestTranslateFaults(t *testing.T) {
	refused := connectRefused(t)
	lost := killedMidQuery(t)
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	for _, tc := range []struct {
		name string
		err  error
		want ledger.Code
	}{
		// The database says it is going away, or cannot serve.
		{"AdminShutdown57P01", pgErr(pgerrcode.AdminShutdown, "FATAL"), ledger.CodeDatabaseUnavailable},
		{"CrashShutdown57P02", pgErr(pgerrcode.CrashShutdown, "FATAL"), ledger.CodeDatabaseUnavailable},
		{"CannotConnectNow57P03", pgErr(pgerrcode.CannotConnectNow, "FATAL"), ledger.CodeDatabaseUnavailable},
		{"ConnectionFailure08006", pgErr(pgerrcode.ConnectionFailure, "FATAL"), ledger.CodeDatabaseUnavailable},
		{"ConnectionException08000", pgErr(pgerrcode.ConnectionException, "ERROR"), ledger.CodeDatabaseUnavailable},
		{"TooManyConnections53300", pgErr(pgerrcode.TooManyConnections, "FATAL"), ledger.CodeDatabaseUnavailable},
		{"DiskFull53100", pgErr(pgerrcode.DiskFull, "ERROR"), ledger.CodeDatabaseUnavailable},
		{"IOError58030", pgErr(pgerrcode.IOError, "ERROR"), ledger.CodeDatabaseUnavailable},
		{"QueryCanceled57014", pgErr(pgerrcode.QueryCanceled, "ERROR"), ledger.CodeDatabaseUnavailable},
		{"LockNotAvailable55P03", pgErr(pgerrcode.LockNotAvailable, "ERROR"), ledger.CodeDatabaseUnavailable},
		// CockroachDB's ambiguous result on a statement that was not COMMIT:
		// its transaction never committed.
		{"StatementCompletionUnknown40003", pgErr(pgerrcode.StatementCompletionUnknown, "ERROR"), ledger.CodeDatabaseUnavailable},
		// Contention that outlasted the retries.
		{"SerializationFailure40001", pgErr(pgerrcode.SerializationFailure, "ERROR"), ledger.CodeUnavailable},
		{"DeadlockDetected40P01", pgErr(pgerrcode.DeadlockDetected, "ERROR"), ledger.CodeUnavailable},
		{"UniqueViolation23505", pgErr(pgerrcode.UniqueViolation, "ERROR"), ledger.CodeUnavailable},
		{"NumericValueOutOfRange22003", pgErr(pgerrcode.NumericValueOutOfRange, "ERROR"), ledger.CodeBalanceLimitExceeded},
		// The way to the database broke.
		{"ConnectRefused", refused, ledger.CodeDatabaseUnavailable},
		{"ConnectionKilledMidQuery", lost, ledger.CodeDatabaseUnavailable},
		{"ConnClosed", fmt.Errorf("acquire: %w", pgconn.ErrConnClosed), ledger.CodeDatabaseUnavailable},
		{"EOF", fmt.Errorf("receive message failed: %w", io.EOF), ledger.CodeDatabaseUnavailable},
		{"UnexpectedEOF", io.ErrUnexpectedEOF, ledger.CodeDatabaseUnavailable},
		{"ConnectionReset", reset, ledger.CodeDatabaseUnavailable},
		{"BrokenPipe", fmt.Errorf("write: %w", syscall.EPIPE), ledger.CodeDatabaseUnavailable},
		{"UseOfClosedConnection", fmt.Errorf("read: %w", net.ErrClosed), ledger.CodeDatabaseUnavailable},
		// A COMMIT was sent and its answer lost.
		{"CommitConnectionKilled", cockroach.CommitFailed(lost), ledger.CodeOutcomeUnknown},
		{"CommitConnectionReset", cockroach.CommitFailed(reset), ledger.CodeOutcomeUnknown},
		{"CommitEOF", cockroach.CommitFailed(io.EOF), ledger.CodeOutcomeUnknown},
		{"CommitAdminShutdown", cockroach.CommitFailed(pgErr(pgerrcode.AdminShutdown, "FATAL")), ledger.CodeOutcomeUnknown},
		{"CommitAmbiguous40003", cockroach.CommitFailed(pgErr(pgerrcode.StatementCompletionUnknown, "ERROR")), ledger.CodeOutcomeUnknown},
		{"CommitConnectionFailure08006", cockroach.CommitFailed(pgErr(pgerrcode.ConnectionFailure, "ERROR")), ledger.CodeOutcomeUnknown},
		// A COMMIT the database refused, or that never went out, did not commit.
		{"CommitSerializationFailure", cockroach.CommitFailed(pgErr(pgerrcode.SerializationFailure, "ERROR")), ledger.CodeUnavailable},
		{"CommitNotSent", cockroach.CommitFailed(fmt.Errorf("acquire: %w", connLockError(t))), ledger.CodeDatabaseUnavailable},
		{"CommitBalanceLimit", cockroach.CommitFailed(pgErr(pgerrcode.NumericValueOutOfRange, "ERROR")), ledger.CodeBalanceLimitExceeded},
		// Only a bug explains these.
		{"UndefinedTable42P01", pgErr(pgerrcode.UndefinedTable, "ERROR"), ledger.CodeInternal},
		{"InternalError", pgErr(pgerrcode.InternalError, "ERROR"), ledger.CodeInternal},
		{"NoRows", pgx.ErrNoRows, ledger.CodeInternal},
		{"Unexpected", errors.New("a result the store cannot decode"), ledger.CodeInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cockroach.Translate(tc.err)
			if code := ledger.ErrorCode(got); code != tc.want {
				t.Fatalf("translate(%v) = %v (%s), want %s", tc.err, got, code, tc.want)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("translate(%v) = %v, which lost its cause", tc.err, got)
			}
		})
	}
}

// A deadline or a cancellation passes through as it is: whether it was the
// caller's or the server's own budget is for the server to say.
func TestTranslateLeavesContextErrors(t *testing.T) {
	expired := queryAfterDeadline(t)
	for _, err := range []error{context.DeadlineExceeded, context.Canceled, expired} {
		got := cockroach.Translate(err)
		var le *ledger.Error
		if errors.As(got, &le) || !errors.Is(got, context.DeadlineExceeded) && !errors.Is(got, context.Canceled) {
			t.Errorf("translate(%v) = %v, want the context's error as it was", err, got)
		}
	}
	// The same deadline while a COMMIT was out leaves its outcome unknown.
	if got := cockroach.Translate(cockroach.CommitFailed(expired)); ledger.ErrorCode(got) != ledger.CodeOutcomeUnknown {
		t.Errorf("translate(commit timed out) = %v, want OUTCOME_UNKNOWN", got)
	}
}

// connectRefused is pgx's error for a server that refuses the connection.
func connectRefused(t *testing.T) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nobody listens there now
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://nobody@"+addr+"/none?sslmode=disable")
	if err == nil {
		conn.Close(ctx)
		t.Fatal("connected to a closed port")
	}
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("connect to a closed port: %T %v, want a *pgconn.ConnectError", err, err)
	}
	return err
}

// killedMidQuery is pgx's error for a connection whose server process is
// terminated while it runs a statement.
func killedMidQuery(t *testing.T) error {
	t.Helper()
	url := pgtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	victim, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close(ctx)
	killer, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close(ctx)
	pid := victim.PgConn().PID()
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		time.Sleep(200 * time.Millisecond)
		killer.Exec(ctx, "SELECT pg_terminate_backend($1)", pid)
	}()
	_, err = victim.Exec(ctx, "SELECT pg_sleep(20)")
	<-killed
	if err == nil {
		t.Fatal("a statement survived the termination of its connection")
	}
	return err
}

// queryAfterDeadline is pgx's error for a statement whose deadline passes
// while it runs.
func queryAfterDeadline(t *testing.T) error {
	t.Helper()
	url := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err = conn.Exec(ctx, "SELECT pg_sleep(20)")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("statement past its deadline: %v, want one wrapping context.DeadlineExceeded", err)
	}
	return err
}

// connLockError is pgx's error for a request on a connection it has
// closed, before anything is sent.
func connLockError(t *testing.T) error {
	t.Helper()
	url := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close(t.Context())
	_, err = conn.Exec(t.Context(), "SELECT 1")
	if !pgconn.SafeToRetry(err) {
		t.Fatalf("statement on a closed connection: %v, want an error that nothing was sent", err)
	}
	return err
}

type severKey struct{}

// A transfer whose connection is severed just before its COMMIT goes out is
// answered OUTCOME_UNKNOWN, never INTERNAL, and DATABASE_UNAVAILABLE only
// when the COMMIT was never sent: the store cannot tell otherwise whether
// it was applied. Its replay with the
// same request id settles it, and posts it exactly once.
func TestCommitLostIsOutcomeUnknown(t *testing.T) {
	var f *fixture
	f = MustOpenStore(t, cockroach.Options{MoveBatch: 1, BeforeCommit: func(ctx context.Context, _ int) error {
		if ctx.Value(severKey{}) == nil {
			return nil
		}
		// The transaction waits for its COMMIT: end its session, as a
		// database crash or a broken network would.
		_, err := f.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND state = 'idle in transaction' AND pid <> pg_backend_pid()`)
		return err
	}})
	f.MustOpen(t, "payer", 10_000)
	f.MustOpen(t, "payee", 0)
	rq := ledger.TransferRequest{RequestID: "severed", From: "payer", To: "payee", Amount: 700, Currency: "KRW"}

	_, err := f.Transfer(context.WithValue(t.Context(), severKey{}, true), rq)
	// Usually the COMMIT goes out and its answer is lost. When the
	// session's end reaches the client first, the write of the COMMIT
	// itself fails: then nothing was sent, the store may say so, and the
	// books must show that nothing was applied.
	if ledger.ErrorCode(err) == ledger.CodeDatabaseUnavailable {
		if b := f.MustBalance(t, "payee"); b.Posted != 0 {
			t.Fatalf("DATABASE_UNAVAILABLE (%v), yet the payee holds %d", err, b.Posted)
		}
	} else {
		AssertCode(t, err, ledger.CodeOutcomeUnknown)
	}
	e, err := f.Transfer(t.Context(), rq)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if again, err := f.Transfer(t.Context(), rq); err != nil || again.ID != e.ID {
		t.Fatalf("second replay: entry %s (%v), want %s", again.ID, err, e.ID)
	}
	if b := f.MustBalance(t, "payee"); b.Posted != 700 {
		t.Fatalf("payee holds %d after the settled transfer, want 700", b.Posted)
	}
	f.AssertBooksBalance(t)
}

// A store whose database refuses connections answers DATABASE_UNAVAILABLE.
func TestDatabaseDownIsUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	pool := mustPool(t, "postgres://ledger@"+addr+"/ledger?sslmode=disable&connect_timeout=5")
	s := cockroach.New(pool, cockroach.Options{})
	_, err = s.Transfer(t.Context(), ledger.TransferRequest{RequestID: "r1", From: "a", To: "b", Amount: 1, Currency: "KRW"})
	AssertCode(t, err, ledger.CodeDatabaseUnavailable)
	_, err = s.GetBalance(t.Context(), "a")
	AssertCode(t, err, ledger.CodeDatabaseUnavailable)
}
