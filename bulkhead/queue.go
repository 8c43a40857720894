package bulkhead

import (
	"context"
	"errors"
	"time"
)

// waitBudget returns how long a call may wait for a slot: MaxWait, or less
// when the caller's deadline (minus MinRemaining) comes sooner, in which case
// byDeadline is true. A call with no time left is rejected at once rather
// than left to time out in the queue. Deadlines are real time, so this reads
// the real clock, not Settings.Now.
func (c *Compartment) waitBudget(ctx context.Context) (wait time.Duration, byDeadline bool, err error) {
	if ctx.Err() != nil {
		return 0, false, c.rejectDone(ctx)
	}
	wait = c.s.MaxWait
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl) - c.s.MinRemaining
		if left <= 0 {
			return 0, false, c.reject(ReasonNoTime)
		}
		if left < wait {
			wait, byDeadline = left, true
		}
	}
	return wait, byDeadline, nil
}

// rejectDone rejects a call whose context has ended.
func (c *Compartment) rejectDone(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return c.reject(ReasonNoTime)
	}
	return c.reject(ReasonCanceled)
}

// acquire takes a worker slot, waiting at most wait in the queue. The slots
// are a buffered channel: blocked senders are served in arrival order, so
// the queue is FIFO and a freed slot goes to the oldest waiter. The queue's
// bound is the queued counter, checked before blocking.
func (c *Compartment) acquire(ctx context.Context, wait time.Duration, byDeadline bool) error {
	select {
	case c.slots <- struct{}{}:
		c.inFlight.Add(1)
		return nil
	default:
	}
	if c.s.MaxQueue == 0 {
		return c.reject(ReasonSaturated)
	}
	enqueued := c.s.Now() // read before counting, so a fake clock sees it
	if c.queued.Add(1) > int64(c.s.MaxQueue) {
		c.queued.Add(-1)
		return c.reject(ReasonSaturated)
	}
	defer c.queued.Add(-1)

	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case c.slots <- struct{}{}:
		c.inFlight.Add(1)
	case <-t.C:
		if byDeadline {
			return c.reject(ReasonNoTime)
		}
		return c.reject(ReasonQueueTimeout)
	case <-ctx.Done():
		return c.rejectDone(ctx)
	}

	// Got a slot; still refuse a caller that is stale by the compartment's
	// clock, or has ended, or has too little time left to use the slot.
	if err := c.stillWanted(ctx, enqueued); err != nil {
		c.releaseSlot()
		return err
	}
	return nil
}

// stillWanted rejects a waiter that got a slot too late to use it. The
// MaxWait check uses Settings.Now, so it also catches a fake clock moved on.
func (c *Compartment) stillWanted(ctx context.Context, enqueued time.Time) error {
	if c.s.Now().Sub(enqueued) > c.s.MaxWait {
		return c.reject(ReasonQueueTimeout)
	}
	if ctx.Err() != nil {
		return c.rejectDone(ctx)
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < c.s.MinRemaining {
		return c.reject(ReasonNoTime)
	}
	return nil
}

// releaseSlot frees a worker slot, handing it to the oldest waiter if any.
func (c *Compartment) releaseSlot() {
	c.inFlight.Add(-1)
	if c.adaptive != nil && c.adaptive.payOwed() {
		return // the slot stays taken, as a reservation the limit owed
	}
	<-c.slots
}
