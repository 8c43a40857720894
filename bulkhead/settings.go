package bulkhead

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Settings configures a Compartment. The zero value of every field selects
// its default (the yaml tags name the fields in a configuration file):
//
//   - Name: "" (used as is in errors and stats).
//   - MaxConcurrent: worker slots; <= 0 means 8.
//   - MaxQueue: callers allowed to wait beyond the slots; 0 means
//     2*MaxConcurrent, negative means no queue at all.
//   - MaxWait: longest time a call waits in the queue; <= 0 means 50ms.
//   - MinRemaining: a call whose context deadline is less than this away
//     is refused with ErrNoTime, and a waiter gives up once only this much
//     is left; 0 means 1ms, negative means refuse only an expired deadline.
//   - Timeout: deadline budget of each admitted call; its context deadline
//     is min(caller's deadline, start+Timeout); <= 0 means 2s. When the
//     budget ends first, the context's cause is ErrTimeout.
//   - SlowCall: a call taking at least this long counts as a breaker
//     failure; 0 means Timeout/2, negative disables slow-call counting.
//   - MinRequests: finished calls in the window before the breaker judges
//     the failure ratio; 0 means 20.
//   - FailureRatio: the breaker opens when failures/finished >= this;
//     outside (0, 1] means 0.5.
//   - Interval: rolling window (ten buckets) of the closed state;
//     <= 0 means 10s.
//   - OpenTimeout: time the breaker stays open before turning half-open;
//     <= 0 means 5s.
//   - HalfOpenProbes: calls let through while half-open, and successes
//     needed to close again; 0 means 3.
//   - IsFailure: says whether an error returned by the work is an
//     infrastructure failure; nil means "is or wraps
//     context.DeadlineExceeded". It is never called with a nil error.
//     Note that a gRPC status error with code DeadlineExceeded does not wrap
//     context.DeadlineExceeded: supply IsFailure to classify those.
//   - Now: clock for queue-wait and slow-call measurement; nil means
//     time.Now. Context deadlines and the breaker's OpenTimeout always use
//     the real clock (gobreaker v2.4.0 calls time.Now itself).
//   - TargetLatency: turns on an adaptive concurrency limit (see Limit):
//     a call that takes at least this long in its slot, or counts as a
//     breaker failure, cuts the limit; fast calls under load raise it
//     again, never above MaxConcurrent. 0 means a fixed limit of
//     MaxConcurrent.
//   - MinConcurrent: the adaptive limit's floor; <= 0 means 1, and more
//     than MaxConcurrent means MaxConcurrent.
//   - Backoff: the ratio by which a slow call cuts the adaptive limit;
//     outside (0, 1) means 0.75.
//   - OnStateChange: called on every breaker transition; nil means none.
//     It runs under the breaker's mutex, so it must not call Do, Admit,
//     Stats, TryReject or RetryAfter of the same Compartment.
type Settings struct {
	Name           string                            `yaml:"-"`
	MaxConcurrent  int                               `yaml:"max_concurrent"`
	MaxQueue       int                               `yaml:"max_queue"`
	MaxWait        time.Duration                     `yaml:"max_wait"`
	MinRemaining   time.Duration                     `yaml:"min_remaining"`
	Timeout        time.Duration                     `yaml:"timeout"`
	SlowCall       time.Duration                     `yaml:"slow_call"`
	MinRequests    uint32                            `yaml:"min_requests"`
	FailureRatio   float64                           `yaml:"failure_ratio"`
	Interval       time.Duration                     `yaml:"interval"`
	OpenTimeout    time.Duration                     `yaml:"open_timeout"`
	HalfOpenProbes uint32                            `yaml:"half_open_probes"`
	TargetLatency  time.Duration                     `yaml:"target_latency"`
	MinConcurrent  int                               `yaml:"min_concurrent"`
	Backoff        float64                           `yaml:"backoff"`
	IsFailure      func(err error) bool              `yaml:"-"`
	Now            func() time.Time                  `yaml:"-"`
	OnStateChange  func(name string, from, to State) `yaml:"-"`
}

// withDefaults returns s with every zero field replaced by its default.
func (s Settings) withDefaults() Settings {
	if s.MaxConcurrent <= 0 {
		s.MaxConcurrent = 8
	}
	switch {
	case s.MaxQueue == 0:
		s.MaxQueue = 2 * s.MaxConcurrent
	case s.MaxQueue < 0:
		s.MaxQueue = 0
	}
	if s.MaxWait <= 0 {
		s.MaxWait = 50 * time.Millisecond
	}
	switch {
	case s.MinRemaining == 0:
		s.MinRemaining = time.Millisecond
	case s.MinRemaining < 0:
		s.MinRemaining = 0
	}
	if s.Timeout <= 0 {
		s.Timeout = 2 * time.Second
	}
	if s.SlowCall == 0 {
		s.SlowCall = s.Timeout / 2
	}
	if s.MinRequests == 0 {
		s.MinRequests = 20
	}
	if !(s.FailureRatio > 0 && s.FailureRatio <= 1) {
		s.FailureRatio = 0.5
	}
	if s.Interval <= 0 {
		s.Interval = 10 * time.Second
	}
	if s.OpenTimeout <= 0 {
		s.OpenTimeout = 5 * time.Second
	}
	if s.HalfOpenProbes == 0 {
		s.HalfOpenProbes = 3
	}
	s.MinConcurrent = min(max(s.MinConcurrent, 1), s.MaxConcurrent)
	if !(s.Backoff > 0 && s.Backoff < 1) {
		s.Backoff = 0.75
	}
	if s.IsFailure == nil {
		s.IsFailure = isDeadlineExceeded
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	return s
}

// isDeadlineExceeded is the default Settings.IsFailure.
func isDeadlineExceeded(err error) bool { return errors.Is(err, context.DeadlineExceeded) }

// State is the state of a Compartment's circuit breaker.
type State int

// Breaker states, in gobreaker's order.
const (
	StateClosed State = iota
	StateHalfOpen
	StateOpen
)

// String returns "closed", "half-open" or "open".
func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateHalfOpen:
		return "half-open"
	case StateOpen:
		return "open"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Sentinel errors; match them with errors.Is, since the errors returned
// are *RejectError values that wrap them.
var (
	// ErrSaturated means the call was shed: slots and queue were full, or it
	// waited MaxWait in the queue. Retry later (see RetryAfter).
	ErrSaturated = errors.New("bulkhead: saturated")
	// ErrCircuitOpen means the breaker is open, or half-open with all its
	// probes in use; the work was not run.
	ErrCircuitOpen = errors.New("bulkhead: circuit open")
	// ErrNoTime means the caller's deadline left too little time to start
	// (at arrival, or while it waited). It is not ErrSaturated: the caller's
	// own deadline, not the load, is at fault; a gRPC server would answer
	// DEADLINE_EXCEEDED rather than RESOURCE_EXHAUSTED.
	ErrNoTime = errors.New("bulkhead: no time left before the deadline")
	// ErrTimeout is the cause (context.Cause) with which an admitted call's
	// context ends when its Timeout budget runs out before the caller's own
	// deadline: the compartment, not the caller, gave up on the work.
	ErrTimeout = errors.New("bulkhead: the call's time budget ran out")
)

// RejectReason says why a call was not admitted.
type RejectReason int

// Reasons for not admitting a call; they index Stats.Rejected.
const (
	ReasonSaturated    RejectReason = iota // slots and queue full: ErrSaturated
	ReasonQueueTimeout                     // waited MaxWait: ErrSaturated
	ReasonNoTime                           // deadline too close: ErrNoTime
	ReasonCircuitOpen                      // breaker refused: ErrCircuitOpen
	ReasonCanceled                         // caller's context canceled first
	numReasons
)

// String returns the reason in kebab case, e.g. "queue-timeout".
func (r RejectReason) String() string {
	switch r {
	case ReasonSaturated:
		return "saturated"
	case ReasonQueueTimeout:
		return "queue-timeout"
	case ReasonNoTime:
		return "no-time"
	case ReasonCircuitOpen:
		return "circuit-open"
	case ReasonCanceled:
		return "canceled"
	}
	return fmt.Sprintf("RejectReason(%d)", int(r))
}

// cause is the error a rejection for r wraps.
func (r RejectReason) cause() error {
	switch r {
	case ReasonSaturated, ReasonQueueTimeout:
		return ErrSaturated
	case ReasonNoTime:
		return ErrNoTime
	case ReasonCircuitOpen:
		return ErrCircuitOpen
	}
	return context.Canceled
}

// RejectError is returned when a call is not admitted. It wraps
// ErrSaturated, ErrNoTime, ErrCircuitOpen or context.Canceled.
type RejectError struct {
	Compartment string       // name of the rejecting compartment
	Reason      RejectReason // why the call was rejected
}

// Error reports the compartment and the reason.
func (e *RejectError) Error() string {
	if e.Compartment == "" {
		return "bulkhead: rejected: " + e.Reason.String()
	}
	return "bulkhead " + e.Compartment + ": rejected: " + e.Reason.String()
}

// Unwrap returns the sentinel error for the reason.
func (e *RejectError) Unwrap() error { return e.Reason.cause() }
