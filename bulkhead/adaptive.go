package bulkhead

import (
	"sync"
	"sync/atomic"
	"time"
)

// adaptive is an AIMD concurrency limit between MinConcurrent and
// MaxConcurrent. A call that finishes slower than TargetLatency, or as a
// breaker failure, cuts the limit by the Backoff ratio, at most once per
// generation of calls: a call admitted before the last cut tells of the old
// limit, not the new one, and is ignored. Each limit's worth of fast calls raises it by
// one, if at least half the limit was in use meanwhile: an idle
// compartment's fast calls say nothing about more concurrency. (The same shape as
// Netflix's concurrency-limits AIMDLimit, with a latency target.)
//
// The slots channel always has MaxConcurrent places; those above the limit
// are held by reservations. A cut places a reservation, or, when every
// place is taken, owes one: the next freed slot becomes it.
type adaptive struct {
	min, max int
	target   time.Duration
	backoff  float64

	mu    sync.Mutex
	limit atomic.Int64
	owed  atomic.Int64
	fast  int           // fast calls since the limit last moved
	peak  int64         // most calls in slots at an admission among them
	gen   atomic.Uint64 // cuts so far: a call admitted in an older generation is ignored
}

// adapt records one finished call of c admitted in generation gen, when
// busy calls (itself included) held slots, that took d.
func (c *Compartment) adapt(gen uint64, busy int64, d time.Duration, failed bool) {
	a := c.adaptive
	a.mu.Lock()
	defer a.mu.Unlock()
	if gen != a.gen.Load() {
		return
	}
	limit := int(a.limit.Load())
	if failed || d >= a.target {
		a.gen.Add(1)
		a.fast, a.peak = 0, 0
		c.setLimit(max(a.min, int(float64(limit)*a.backoff)))
		return
	}
	a.peak = max(a.peak, busy)
	if a.fast++; a.fast >= limit {
		if a.peak*2 >= int64(limit) {
			c.setLimit(min(a.max, limit+1))
		}
		a.fast, a.peak = 0, 0
	}
}

// setLimit moves the limit one reservation at a time; a.mu is held.
func (c *Compartment) setLimit(to int) {
	a := c.adaptive
	for l := int(a.limit.Load()); l > to; l-- {
		a.limit.Store(int64(l - 1))
		select {
		case c.slots <- struct{}{}:
		default:
			a.owed.Add(1)
		}
	}
	for l := int(a.limit.Load()); l < to; l++ {
		a.limit.Store(int64(l + 1))
		if !a.payOwed() {
			<-c.slots // a reservation: there is one, since the limit was below the places
		}
	}
}

// generation returns the generation a call admitted now belongs to.
func (c *Compartment) generation() uint64 {
	if c.adaptive == nil {
		return 0
	}
	return c.adaptive.gen.Load()
}

// payOwed cancels one owed reservation, if any.
func (a *adaptive) payOwed() bool {
	for {
		n := a.owed.Load()
		if n <= 0 {
			return false
		}
		if a.owed.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// Limit returns the compartment's concurrency limit now: MaxConcurrent, or
// less while an adaptive limit has cut it.
func (c *Compartment) Limit() int {
	if c.adaptive == nil {
		return c.s.MaxConcurrent
	}
	return int(c.adaptive.limit.Load())
}

// minConcurrent is the adaptive limit's floor, 0 for a fixed limit.
func (c *Compartment) minConcurrent() int {
	if c.adaptive == nil {
		return 0
	}
	return c.adaptive.min
}
