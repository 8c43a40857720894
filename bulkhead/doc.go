// Package bulkhead isolates classes of traffic from each other, so that a
// flood in one class cannot starve the others.
//
// A [Compartment] is one watertight section of the ship. It owns:
//
//   - a fixed number of worker slots (Settings.MaxConcurrent);
//   - a bounded wait queue (Settings.MaxQueue) in which a call waits at most
//     Settings.MaxWait, and never past its own deadline;
//   - its own circuit breaker (sony/gobreaker v2);
//   - its own deadline budget (Settings.Timeout) applied to every admitted call.
//
// Nothing is unbounded: when the slots and the queue are full, or a call has
// waited MaxWait, the call is shed with [ErrSaturated]. A call whose deadline
// leaves no time to start is refused at once with [ErrNoTime] instead of
// timing out in the queue. A call whose context ends while it waits leaves
// the queue and gets an error wrapping the context's error.
//
// # What trips a breaker
//
// Only the outcome of work that was admitted and ran counts. A finished call
// is a breaker failure when
//
//   - Settings.IsFailure(err) reports true (by default: err is, or wraps,
//     context.DeadlineExceeded — an infrastructure timeout), or
//   - it took at least Settings.SlowCall (measured with Settings.Now), even
//     when it succeeded, or
//   - the work panicked (Do only).
//
// Everything else is a success, including business errors such as
// "insufficient funds" or "promotion sold out": the dependency answered
// correctly, so there is nothing to protect it from.
//
// These never reach the breaker at all and are counted only in
// [Stats].Rejected: load shedding ([ErrSaturated]), calls refused for lack of
// time ([ErrNoTime]), callers that gave up while queued, and calls refused by
// the breaker itself ([ErrCircuitOpen]).
//
// In the closed state the breaker looks at a rolling window of
// Settings.Interval and opens once at least Settings.MinRequests calls have
// finished in it and failures/finished >= Settings.FailureRatio. While open,
// calls fail fast with [ErrCircuitOpen] without running the work or queueing.
// After Settings.OpenTimeout the breaker turns half-open and lets
// Settings.HalfOpenProbes calls through; that many successes close it, and a
// single failure opens it again.
//
// gobreaker moves from open to half-open only when it is asked (by a call or
// by State). [Compartment.Stats], [Compartment.TryReject] and
// [Compartment.RetryAfter] ask, so a health check that polls Stats keeps the
// breaker moving even when callers have stopped sending traffic.
package bulkhead
