package soak

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

// withReason is the status a ledgerd sends: a code, a reason and, for
// UNAVAILABLE, when to retry.
func withReason(code codes.Code, reason string) error {
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: "ledger.corebanking"}}
	if code == codes.Unavailable || code == codes.ResourceExhausted {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)})
	}
	st, err := status.New(code, "message").WithDetails(details...)
	if err != nil {
		panic(err)
	}
	return st.Err()
}

// Each answer tells the client what it must: retry, replay, stop, or that
// the ledger is broken.
func TestAnswerOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want class
	}{
		{"OK", nil, classDone},
		{"InsufficientFunds", withReason(codes.FailedPrecondition, "INSUFFICIENT_FUNDS"), classRefused},
		{"SoldOut", withReason(codes.FailedPrecondition, "PROMO_SOLD_OUT"), classRefused},
		{"AlreadySubscribed", withReason(codes.AlreadyExists, "PROMO_ALREADY_SUBSCRIBED"), classRefused},
		{"DatabaseUnavailable", withReason(codes.Unavailable, "DATABASE_UNAVAILABLE"), classNotDone},
		{"Contention", withReason(codes.Unavailable, "UNAVAILABLE"), classNotDone},
		{"CircuitOpen", withReason(codes.Unavailable, "CIRCUIT_OPEN"), classNotDone},
		{"Saturated", withReason(codes.ResourceExhausted, "COMPARTMENT_SATURATED"), classNotDone},
		{"OutcomeUnknown", withReason(codes.Unavailable, "OUTCOME_UNKNOWN"), classUnknown},
		{"CallersDeadline", withReason(codes.DeadlineExceeded, "DEADLINE_EXCEEDED"), classUnknown},
		{"ConnectionRefused", status.Error(codes.Unavailable, "connection refused"), classUnknown},
		{"ClientDeadline", status.Error(codes.DeadlineExceeded, "context deadline exceeded"), classUnknown},
		{"Internal", withReason(codes.Internal, "INTERNAL"), classInternal},
		{"InternalFromTransport", status.Error(codes.Internal, "grpc: failed to unmarshal"), classInternal},
		{"IdempotencyConflict", withReason(codes.FailedPrecondition, "IDEMPOTENCY_CONFLICT"), classUnexpected},
		{"InvalidArgument", withReason(codes.InvalidArgument, "INVALID_ARGUMENT"), classUnexpected},
		{"AccountNotFound", withReason(codes.NotFound, "ACCOUNT_NOT_FOUND"), classUnexpected},
		{"NotAStatus", errors.New("boom"), classInternal},
		{"Canceled", status.Error(codes.Canceled, "context canceled"), classUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := answerOf(tc.err); got.class != tc.want {
				t.Fatalf("answerOf(%v) = %s (%s), want %s", tc.err, got.class, got.name, tc.want)
			}
		})
	}
	if a := answerOf(withReason(codes.Unavailable, "DATABASE_UNAVAILABLE")); a.retryAfter != time.Second {
		t.Errorf("RetryInfo read as %v, want 1s", a.retryAfter)
	}
}
