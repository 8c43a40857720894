package bulkhead

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// errFailure is what the breaker is told when a call counts as a failure;
// the breaker never sees the work's own error.
var errFailure = errors.New("bulkhead: failure")

// Compartment bounds the concurrency, queueing, failure and time budget of
// one class of traffic. It is safe for concurrent use; create it with New.
type Compartment struct {
	s     Settings // with defaults applied
	slots chan struct{}
	cb    *gobreaker.TwoStepCircuitBreaker[struct{}]
	// adaptive is the concurrency limit below MaxConcurrent; nil when
	// Settings.TargetLatency is zero.
	adaptive *adaptive

	inFlight atomic.Int64
	queued   atomic.Int64
	openedAt atomic.Int64 // real-clock UnixNano of the last close->open

	admitted  atomic.Uint64
	successes atomic.Uint64
	failures  atomic.Uint64
	slow      atomic.Uint64
	rejected  [numReasons]atomic.Uint64
	rejErr    [numReasons]*RejectError // preallocated: rejecting never allocates
}

// New returns a Compartment configured by s (see Settings for defaults).
func New(s Settings) *Compartment {
	s = s.withDefaults()
	c := &Compartment{s: s, slots: make(chan struct{}, s.MaxConcurrent)}
	if s.TargetLatency > 0 {
		c.adaptive = &adaptive{min: s.MinConcurrent, max: s.MaxConcurrent, target: s.TargetLatency, backoff: s.Backoff}
		c.adaptive.limit.Store(int64(s.MaxConcurrent))
	}
	for r := range numReasons {
		c.rejErr[r] = &RejectError{Compartment: s.Name, Reason: r}
	}
	c.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:          s.Name,
		MaxRequests:   s.HalfOpenProbes,
		Interval:      s.Interval,
		BucketPeriod:  s.Interval / 10,
		Timeout:       s.OpenTimeout,
		ReadyToTrip:   c.readyToTrip,
		OnStateChange: c.onStateChange,
	})
	return c
}

// Name returns the compartment's name.
func (c *Compartment) Name() string { return c.s.Name }

// Timeout returns the deadline budget of each admitted call.
func (c *Compartment) Timeout() time.Duration { return c.s.Timeout }

// readyToTrip judges finished calls only: Requests also counts calls still
// in flight, which would dilute the ratio under load.
func (c *Compartment) readyToTrip(n gobreaker.Counts) bool {
	done := n.TotalSuccesses + n.TotalFailures
	return done >= c.s.MinRequests &&
		float64(n.TotalFailures) >= c.s.FailureRatio*float64(done)
}

// onStateChange runs under the breaker's mutex: it must not ask the breaker
// anything (TRAPS.md), so it passes the states it was given straight on.
func (c *Compartment) onStateChange(_ string, from, to gobreaker.State) {
	if to == gobreaker.StateOpen {
		c.openedAt.Store(time.Now().UnixNano())
	}
	if c.s.OnStateChange != nil {
		c.s.OnStateChange(c.s.Name, fromBreaker(from), fromBreaker(to))
	}
}

// fromBreaker converts a gobreaker state.
func fromBreaker(s gobreaker.State) State {
	switch s {
	case gobreaker.StateOpen:
		return StateOpen
	case gobreaker.StateHalfOpen:
		return StateHalfOpen
	}
	return StateClosed
}

// Do runs work in the compartment. work's context carries the Timeout budget.
// Do returns a *RejectError without running work when the call is not
// admitted; otherwise it returns work's error unchanged. If work panics, the
// call counts as a breaker failure and the panic continues.
func (c *Compartment) Do(ctx context.Context, work func(ctx context.Context) error) error {
	k, err := c.admit(ctx)
	if err != nil {
		return err
	}
	finished := false
	defer func() {
		if !finished {
			k.finish(nil, true)
		}
	}()
	err = work(k.ctx)
	finished = true
	k.finish(err, false)
	return err
}

// Admit is the two-step form of Do, for gRPC interceptors: it takes a slot
// and the breaker's permission, and returns the context to run the call with
// (carrying the Timeout budget) and a release function. release must be
// called exactly once with the call's error; it records the outcome and
// latency, frees the slot and cancels ctx. Later calls of release do nothing.
// When err is non-nil (a *RejectError) nothing is held.
func (c *Compartment) Admit(ctx context.Context) (_ context.Context, release func(err error), err error) {
	k, err := c.admit(ctx)
	if err != nil {
		return nil, nil, err
	}
	return k.ctx, k.release, nil
}

// call is one admitted call.
type call struct {
	c      *Compartment
	ctx    context.Context
	cancel context.CancelFunc
	done   func(error) // the breaker's outcome callback
	start  time.Time
	busy   int64  // calls in slots when it was admitted, itself included
	gen    uint64 // the adaptive limit's generation when it was admitted
	over   atomic.Bool
}

// admit runs the checks in the order that spends the least: time left, the
// breaker's state (fail fast without queueing), a slot, then the breaker's
// permission, so a shed call never touches the breaker.
func (c *Compartment) admit(ctx context.Context) (*call, error) {
	wait, byDeadline, err := c.waitBudget(ctx)
	if err != nil {
		return nil, err
	}
	if c.cb.State() == gobreaker.StateOpen {
		return nil, c.reject(ReasonCircuitOpen)
	}
	if err := c.acquire(ctx, wait, byDeadline); err != nil {
		return nil, err
	}
	done, err := c.cb.Allow()
	if err != nil {
		c.releaseSlot()
		return nil, c.reject(ReasonCircuitOpen)
	}
	c.admitted.Add(1)
	k := &call{c: c, done: done, start: c.s.Now(), busy: c.inFlight.Load(), gen: c.generation()}
	k.ctx, k.cancel = context.WithTimeoutCause(ctx, c.s.Timeout, ErrTimeout)
	return k, nil
}

// release implements Admit's release function.
func (k *call) release(err error) { k.finish(err, false) }

// finish records the outcome once, then frees the slot.
func (k *call) finish(err error, panicked bool) {
	if !k.over.CompareAndSwap(false, true) {
		return
	}
	k.cancel()
	c := k.c
	took := c.s.Now().Sub(k.start)
	slow := c.s.SlowCall > 0 && took >= c.s.SlowCall
	if slow {
		c.slow.Add(1)
	}
	failed := panicked || slow || (err != nil && c.s.IsFailure(err))
	if failed {
		c.failures.Add(1)
		k.done(errFailure)
	} else {
		c.successes.Add(1)
		k.done(nil)
	}
	c.releaseSlot()
	if c.adaptive != nil {
		c.adapt(k.gen, k.busy, took, failed)
	}
}

// reject counts a rejection and returns its error.
func (c *Compartment) reject(r RejectReason) error {
	c.rejected[r].Add(1)
	return c.rejErr[r]
}
