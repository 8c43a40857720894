package soak

import (
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// class is what an answer tells a client about its request.
type class int

const (
	// done: the answer carries the result.
	classDone class = iota
	// refused: the ledger's rules refused it; nothing was done, for good.
	classRefused
	// notDone: nothing was done, and a later try may succeed.
	classNotDone
	// unknown: it may have been done; a replay with the same request id
	// tells.
	classUnknown
	// internal: the ledger says it is broken (INTERNAL). A violation.
	classInternal
	// unexpected: an answer this workload should never get, such as
	// INVALID_ARGUMENT or IDEMPOTENCY_CONFLICT. A violation.
	classUnexpected
)

var classNames = [...]string{"done", "refused", "not done", "unknown", "internal", "unexpected"}

func (c class) String() string { return classNames[c] }

// final reports whether a client stops sending the request after c.
func (c class) final() bool { return c == classDone || c == classRefused || c == classUnexpected }

// The refusals the workload provokes on purpose: payments beyond the
// balance, subscriptions past the quota or a second one, captures of
// holds that outlived their patience.
var expectedRefusals = map[string]bool{
	"INSUFFICIENT_FUNDS": true, "PROMO_SOLD_OUT": true, "PROMO_ALREADY_SUBSCRIBED": true, "HOLD_EXPIRED": true,
}

// The reasons that promise nothing was done: the database could not be
// reached, contention outlasted the retries, or a bulkhead shed the call.
var notDoneReasons = map[string]bool{
	"DATABASE_UNAVAILABLE": true, "UNAVAILABLE": true, "CIRCUIT_OPEN": true, "COMPARTMENT_SATURATED": true,
	"DEADLINE_TOO_SHORT": true,
}

// answer is one gRPC answer, reduced to what the soak counts and does.
type answer struct {
	// name is the ErrorInfo reason, "OK", or for an answer without a
	// reason (the transport's own: a connection refused or reset, the
	// client's deadline) the code and "(transport)".
	name  string
	class class
	// retryAfter is the server's RetryInfo, if it sent one.
	retryAfter time.Duration
}

// answerOf classifies the error of one call.
func answerOf(err error) answer {
	if err == nil {
		return answer{name: "OK", class: classDone}
	}
	st := status.Convert(err)
	var a answer
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			a.name = d.GetReason()
		case *errdetails.RetryInfo:
			a.retryAfter = d.GetRetryDelay().AsDuration()
		}
	}
	code := st.Code()
	switch {
	case a.name == "":
		a.name = code.String() + " (transport)"
		switch code {
		case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
			a.class = classUnknown
		case codes.Internal, codes.Unknown:
			a.class = classInternal
		default:
			a.class = classUnexpected
		}
	case code == codes.Internal || code == codes.Unknown:
		a.class = classInternal
	case a.name == "OUTCOME_UNKNOWN", code == codes.DeadlineExceeded && a.name == "DEADLINE_EXCEEDED",
		code == codes.Canceled:
		a.class = classUnknown // the caller's own deadline: the server may still be at work
	case notDoneReasons[a.name] && (code == codes.Unavailable || code == codes.ResourceExhausted || code == codes.DeadlineExceeded):
		a.class = classNotDone
	case expectedRefusals[a.name]:
		a.class = classRefused
	default:
		a.class = classUnexpected
	}
	return a
}
