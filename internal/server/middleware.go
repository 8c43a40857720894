package server

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/google/uuid"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/validator"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/corebanking/ledger/ledger"
)

type callIDKey struct{}

// CallID returns the id the server gave the current call; it is logged with
// every line about the call and sent to the caller with every error, so an
// operator can find the one from the other.
func CallID(ctx context.Context) string {
	id, _ := ctx.Value(callIDKey{}).(string)
	return id
}

// requestIDer is every request message with a client request id.
type requestIDer interface{ GetRequestId() string }

// identify gives each call an id and adds it, and the client's request id,
// to the fields the logging interceptor writes.
func identify(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	id := uuid.NewString()
	ctx = context.WithValue(ctx, callIDKey{}, id)
	fields := logging.Fields{"call_id", id}
	span := trace.SpanFromContext(ctx) // a no-op span unless tracing is on
	span.SetAttributes(attrCallID.String(id))
	if r, ok := req.(requestIDer); ok && r.GetRequestId() != "" {
		fields = append(fields, "request_id", r.GetRequestId())
		span.SetAttributes(attrRequestID.String(r.GetRequestId()))
	}
	return next(logging.InjectFields(ctx, fields), req)
}

func identifyStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	id := uuid.NewString()
	ctx := logging.InjectFields(context.WithValue(ss.Context(), callIDKey{}, id), logging.Fields{"call_id", id})
	trace.SpanFromContext(ctx).SetAttributes(attrCallID.String(id))
	return next(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
}

// The attributes a call's span carries beside otelgrpc's own.
const (
	attrCallID      = attribute.Key("ledger.call_id")
	attrRequestID   = attribute.Key("ledger.request_id")
	attrCompartment = attribute.Key("ledger.compartment")
)

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }

// validationSlot carries the validator's error out to mapErrors, which
// gives it the full details the validator's plain status would lose.
type validationSlot struct{ err error }

type validationKey struct{}

func onValidationError(ctx context.Context, err error) {
	if slot, ok := ctx.Value(validationKey{}).(*validationSlot); ok {
		slot.err = err
	}
}

// mapErrors turns every error below it into a deliberate status (see
// toStatus), including the validator's.
func mapErrors(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		slot := &validationSlot{}
		resp, err := next(context.WithValue(ctx, validationKey{}, slot), req)
		if slot.err != nil {
			err = slot.err
		}
		return resp, toStatus(ctx, log, info.FullMethod, err)
	}
}

// mapStreamErrors is mapErrors for streams.
func mapStreamErrors(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		slot := &validationSlot{}
		ctx := context.WithValue(ss.Context(), validationKey{}, slot)
		err := next(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
		if slot.err != nil {
			err = slot.err
		}
		return toStatus(ctx, log, info.FullMethod, err)
	}
}

// defaultDeadline bounds a call whose client set no deadline: by d, or by
// its compartment's budget when that is longer (a batch, a verification
// of the whole journal), so that a caller who sets no deadline gets the
// time the compartment allows.
func defaultDeadline(d time.Duration, budget func(method string) time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeoutCause(ctx, max(d, budget(info.FullMethod)), errDefaultDeadline)
			defer cancel()
		}
		return next(ctx, req)
	}
}

// recovered logs a panic with its stack and answers INTERNAL, with nothing
// of the panic in what the caller sees.
func recovered(log *slog.Logger) recovery.RecoveryHandlerFuncContext {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in handler", "call_id", CallID(ctx), "panic", p, "stack", string(debug.Stack()))
		name := string(ledger.CodeInternal)
		return statusOf(reasons[name], name, callMeta(CallID(ctx)), 0, nil)
	}
}

// slogger adapts slog to the logging interceptor.
func slogger(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
}

// unaryChain is the interceptor chain every unary call goes through, outermost
// first. early answers or sheds, once the caller is known, what the tap
// could not for want of the request (see isolation.early), as cheaply as
// the tap: before the call is measured and logged. undecoded answers a
// request the codec could not decode, the first to do so once the call has
// its id, its metrics and its log line. extra runs between it and the
// error mapping, where the bulkhead sits.
func unaryChain(log *slog.Logger, early, metrics, undecoded grpc.UnaryServerInterceptor, extra ...grpc.UnaryServerInterceptor) []grpc.UnaryServerInterceptor {
	chain := []grpc.UnaryServerInterceptor{
		identify,
		early,
		metrics,
		logging.UnaryServerInterceptor(slogger(log), logging.WithLogOnEvents(logging.FinishCall),
			logging.WithLevels(logLevel)),
		recovery.UnaryServerInterceptor(recovery.WithRecoveryHandlerContext(recovered(log))),
		undecoded,
	}
	chain = append(chain, extra...)
	return append(chain,
		mapErrors(log),
		validator.UnaryServerInterceptor(validator.WithOnValidationErrCallback(onValidationError)),
	)
}

// streamChain is the interceptor chain of every stream, outermost first: as
// unaryChain, without a default deadline (a stream lasts as long as its
// client stays; its work is bounded a page at a time, see audit). undecoded
// checks each message the stream receives before the validator sees it.
func streamChain(log *slog.Logger, metrics, undecoded grpc.StreamServerInterceptor) []grpc.StreamServerInterceptor {
	return []grpc.StreamServerInterceptor{
		identifyStream,
		metrics,
		logging.StreamServerInterceptor(slogger(log), logging.WithLogOnEvents(logging.FinishCall),
			logging.WithLevels(logLevel)),
		recovery.StreamServerInterceptor(recovery.WithRecoveryHandlerContext(recovered(log))),
		undecoded,
		mapStreamErrors(log),
		validator.StreamServerInterceptor(validator.WithOnValidationErrCallback(onValidationError)),
	}
}

// logLevel logs client mistakes at info and server faults at error.
func logLevel(c codes.Code) logging.Level {
	switch c {
	case codes.Internal, codes.Unknown, codes.DataLoss:
		return logging.LevelError
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return logging.LevelWarn
	}
	return logging.LevelInfo
}
