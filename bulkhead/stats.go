package bulkhead

import (
	"time"

	"github.com/sony/gobreaker/v2"
)

// Stats is a snapshot of a Compartment's state, counters and limits.
type Stats struct {
	Name     string // compartment name
	State    State  // breaker state
	InFlight int    // calls holding a slot
	Queued   int    // calls waiting for a slot

	Admitted  uint64             // calls that got a slot and the breaker's permission
	Rejected  [numReasons]uint64 // calls not admitted, indexed by RejectReason
	Successes uint64             // admitted calls that finished as successes
	Failures  uint64             // admitted calls that finished as breaker failures
	SlowCalls uint64             // admitted calls that took >= SlowCall (all in Failures)

	MaxConcurrent int           // configured worker slots
	Limit         int           // slots usable now: MaxConcurrent, or less while an adaptive limit is cut
	MinConcurrent int           // the adaptive limit's floor; 0 when the limit is fixed
	MaxQueue      int           // configured queue length (0: no queue)
	MaxWait       time.Duration // configured longest queue wait
	Timeout       time.Duration // configured per-call deadline budget
}

// TotalRejected returns the number of rejected calls, for every reason.
func (s Stats) TotalRejected() uint64 {
	var n uint64
	for _, r := range s.Rejected {
		n += r
	}
	return n
}

// Stats returns a snapshot. It asks the breaker for its state, which is what
// moves gobreaker from open to half-open once OpenTimeout has passed: poll
// Stats (for example from a health check) so an idle open breaker recovers.
// The counters are read one by one and may be mutually inconsistent by the
// calls that finish meanwhile.
func (c *Compartment) Stats() Stats {
	st := Stats{
		Name:          c.s.Name,
		State:         fromBreaker(c.cb.State()),
		InFlight:      int(c.inFlight.Load()),
		Queued:        int(c.queued.Load()),
		Admitted:      c.admitted.Load(),
		Successes:     c.successes.Load(),
		Failures:      c.failures.Load(),
		SlowCalls:     c.slow.Load(),
		MaxConcurrent: c.s.MaxConcurrent,
		Limit:         c.Limit(),
		MinConcurrent: c.minConcurrent(),
		MaxQueue:      c.s.MaxQueue,
		MaxWait:       c.s.MaxWait,
		Timeout:       c.s.Timeout,
	}
	for r := range st.Rejected {
		st.Rejected[r] = c.rejected[r].Load()
	}
	return st
}

// TryReject is an O(1), non-blocking, allocation-free pre-check for
// grpc.InTapHandle. It returns a *RejectError wrapping ErrCircuitOpen when the
// breaker is open, or ErrSaturated when the slots and the queue are all
// taken, and nil otherwise. It reserves nothing: a nil answer does not promise
// admission. A rejection it returns is counted in Stats.Rejected, because tap
// rejections are otherwise invisible. Like Stats it asks the breaker for its
// state, so it moves an expired open breaker to half-open, and it lets calls
// through while half-open so the probes can run.
func (c *Compartment) TryReject() error {
	if c.cb.State() == gobreaker.StateOpen {
		return c.reject(ReasonCircuitOpen)
	}
	if c.inFlight.Load() >= int64(c.Limit()) && c.queued.Load() >= int64(c.s.MaxQueue) {
		return c.reject(ReasonSaturated)
	}
	return nil
}

// RetryAfter advises a rejected client how long to wait before trying again:
// the rest of the open period while the breaker is open (OpenTimeout if that
// is unknown), and MaxWait otherwise, a queue's worth of time for saturation
// or for the half-open probes to finish. The open period is measured on the
// real clock, as gobreaker measures it.
func (c *Compartment) RetryAfter() time.Duration {
	if c.cb.State() != gobreaker.StateOpen {
		return c.s.MaxWait
	}
	opened := c.openedAt.Load()
	if opened == 0 {
		return c.s.OpenTimeout
	}
	left := c.s.OpenTimeout - time.Since(time.Unix(0, opened))
	return min(max(left, 0), c.s.OpenTimeout)
}
