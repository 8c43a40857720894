package server

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/corebanking/ledger/bulkhead"
	"github.com/corebanking/ledger/ledger"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// Every code the ledger declares, and every reason of the server's own, must
// have a row in the one table, with a message in both languages. The codes are read from the declarations in
// package ledger's source, so that a new one is covered at once.
func TestReasonsCoverEveryCode(t *testing.T) {
	codes := declaredCodes(t)
	if len(codes) < 20 {
		t.Fatalf("found %d codes in package ledger: the parse is wrong", len(codes))
	}
	names := serverReasons
	for _, c := range codes {
		names = append(names, string(c))
	}
	for _, name := range names {
		r, ok := reasons[name]
		if !ok || r.en == "" || r.ko == "" {
			t.Errorf("%s: no complete row in the reasons table", name)
		}
	}
	if len(reasons) != len(names) {
		t.Errorf("reasons has %d rows, the ledger declares %d codes and the server gives %d reasons of its own",
			len(reasons), len(codes), len(serverReasons))
	}
}

// declaredCodes returns the value of every constant of type ledger.Code
// declared in package ledger.
func declaredCodes(t *testing.T) []ledger.Code {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("../../ledger/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []ledger.Code
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
					continue
				}
				for _, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok {
						t.Fatalf("%s: a Code constant that is not a string literal", fset.Position(v.Pos()))
					}
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, ledger.Code(s))
				}
			}
		}
	}
	return out
}

// The domain and wire enums share their numbering; the conversions rely on it.
func TestEnumsAlign(t *testing.T) {
	// Every value the wire declares (from the generated name maps) must be
	// the domain's value of the same name, and the domain must have no
	// named value past the wire's: a value added on one side only fails.
	enums := []struct {
		prefix string
		wire   map[int32]string
		domain func(int32) string
	}{
		{"ACCOUNT_KIND_", ledgerv1.AccountKind_name, func(v int32) string { return ledger.Kind(v).String() }},
		{"ACCOUNT_STATUS_", ledgerv1.AccountStatus_name, func(v int32) string { return ledger.Status(v).String() }},
		{"ENTRY_KIND_", ledgerv1.EntryKind_name, func(v int32) string { return ledger.EntryKind(v).String() }},
		{"HOLD_STATUS_", ledgerv1.HoldStatus_name, func(v int32) string { return ledger.HoldStatus(v).String() }},
		{"SUBSCRIPTION_STATUS_", ledgerv1.SubscriptionStatus_name, func(v int32) string { return ledger.SubscriptionStatus(v).String() }},
	}
	for _, e := range enums {
		if len(e.wire) < 3 {
			t.Fatalf("%s: the generated name map has %d values", e.prefix, len(e.wire))
		}
		for v, name := range e.wire {
			if v == 0 {
				continue // UNSPECIFIED
			}
			if got := e.domain(v); e.prefix+got != name {
				t.Errorf("%s value %d: the wire calls it %s, the domain %s", e.prefix, v, name, got)
			}
		}
		if past := int32(len(e.wire)); !strings.Contains(e.domain(past), "(") {
			t.Errorf("%s value %d: the domain names it %s, the wire has no such value", e.prefix, past, e.domain(past))
		}
	}
}

// An internal error reaches the caller as a plain message with a call id;
// its detail stays in the log.
func TestInternalErrorHidesDetail(t *testing.T) {
	var log strings.Builder
	logger := slog.New(slog.NewTextHandler(&log, nil))
	ctx := context.WithValue(context.Background(), callIDKey{}, "call-1")
	secret := errors.New(`pq: relation "accounts" does not exist at 10.0.0.7`)
	err := toStatus(ctx, logger, "/ledger.v1.PaymentService/Transfer", secret)
	st := status.Convert(err)
	if st.Code() != codes.Internal || strings.Contains(st.Message(), "accounts") {
		t.Fatalf("status = %v", st)
	}
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if i, ok := d.(*errdetails.ErrorInfo); ok {
			info = i
		}
	}
	if info == nil || info.Reason != "INTERNAL" || info.Metadata["call_id"] != "call-1" {
		t.Fatalf("error info = %v", info)
	}
	if !strings.Contains(log.String(), "relation") || !strings.Contains(log.String(), "call-1") {
		t.Fatalf("the log lacks the detail: %s", log.String())
	}
}

// statusParts returns err's code, its ErrorInfo reason and whether it
// carries RetryInfo.
func statusParts(err error) (codes.Code, string, bool) {
	st := status.Convert(err)
	var reason string
	var retry bool
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.Reason
		case *errdetails.RetryInfo:
			retry = d.GetRetryDelay().AsDuration() > 0
		}
	}
	return st.Code(), reason, retry
}

// A deadline is the caller's own unless the server's budget for the call
// ran out first: then the database did not answer in time, and the caller
// is told to retry (UNAVAILABLE with RetryInfo), not that it was too
// impatient.
func TestServerDeadlineIsUnavailable(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	const method = "/ledger.v1.PaymentService/Transfer"
	budget := bulkhead.New(bulkhead.Settings{Name: "routine", Timeout: 50 * time.Millisecond})
	// admitted returns the context of a call admitted to budget, once it
	// has ended: by the budget, or by the caller's deadline when it gives one.
	admitted := func(callerDeadline time.Duration) context.Context {
		parent := context.Background()
		if callerDeadline > 0 {
			var cancel context.CancelFunc
			parent, cancel = context.WithTimeout(parent, callerDeadline)
			t.Cleanup(cancel)
		}
		ctx, release, err := budget.Admit(parent)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { release(nil) })
		<-ctx.Done()
		return ctx
	}
	const callerGone = 10 * time.Millisecond
	var defaultCtx context.Context
	noBudget := func(string) time.Duration { return 0 }
	defaultDeadline(20*time.Millisecond, noBudget)(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: method}, func(ctx context.Context, _ any) (any, error) {
		<-ctx.Done()
		defaultCtx = ctx
		return nil, nil
	})

	for _, tc := range []struct {
		name   string
		ctx    context.Context
		err    error
		code   codes.Code
		reason string
	}{
		{"CompartmentBudget", admitted(0), context.DeadlineExceeded, codes.Unavailable, "DATABASE_UNAVAILABLE"},
		{"DefaultDeadline", defaultCtx, fmt.Errorf("acquire: %w", context.DeadlineExceeded), codes.Unavailable, "DATABASE_UNAVAILABLE"},
		{"CallersDeadline", admitted(callerGone), context.DeadlineExceeded, codes.DeadlineExceeded, "DEADLINE_EXCEEDED"},
		{"OutcomeUnknown", admitted(0),
			&ledger.Error{Code: ledger.CodeOutcomeUnknown, Err: context.DeadlineExceeded}, codes.Unavailable, "OUTCOME_UNKNOWN"},
		{"OutcomeUnknownPastCallersDeadline", admitted(callerGone),
			&ledger.Error{Code: ledger.CodeOutcomeUnknown, Err: context.DeadlineExceeded}, codes.Unavailable, "OUTCOME_UNKNOWN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, reason, retry := statusParts(toStatus(tc.ctx, logger, method, tc.err))
			if code != tc.code || reason != tc.reason {
				t.Fatalf("status %v %s, want %v %s", code, reason, tc.code, tc.reason)
			}
			if want := code == codes.Unavailable; retry != want {
				t.Errorf("RetryInfo present: %v, want %v", retry, want)
			}
		})
	}
}

// A call without a deadline gets the server's default, or its
// compartment's budget when that is longer; a caller's own deadline stays.
func TestDefaultDeadlineFollowsCompartmentBudget(t *testing.T) {
	budgets := map[string]time.Duration{"/long": time.Hour, "/short": time.Millisecond}
	deadline := func(ctx context.Context, method string) time.Duration {
		var left time.Duration
		_, _ = defaultDeadline(time.Minute, func(m string) time.Duration { return budgets[m] })(ctx, nil,
			&grpc.UnaryServerInfo{FullMethod: method}, func(ctx context.Context, _ any) (any, error) {
				d, ok := ctx.Deadline()
				if !ok {
					t.Fatalf("%s: no deadline", method)
				}
				left = time.Until(d)
				return nil, nil
			})
		return left
	}
	if left := deadline(context.Background(), "/long"); left <= 50*time.Minute {
		t.Errorf("a call of a compartment with an hour's budget has %v, want its budget", left)
	}
	for _, m := range []string{"/short", "/unrouted"} {
		if left := deadline(context.Background(), m); left <= 50*time.Second || left > time.Minute {
			t.Errorf("%s has %v, want the server's default of a minute", m, left)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if left := deadline(ctx, "/long"); left > time.Second {
		t.Errorf("a caller's deadline of a second became %v", left)
	}
}
