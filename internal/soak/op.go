package soak

import (
	"context"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// posting is one balance change an operation makes when it is applied.
type posting struct {
	account string
	amount  int64
}

// entryRef is a money entry the ledger reports it posted, under the
// request id its books record it by.
type entryRef struct {
	requestID, entryID string
}

// result is what the ledger answered a request it did.
type result struct {
	entries []entryRef // the money entries it posted: one for a payment, none for a hold placement
	holdID  string     // the hold it placed or finished
	account string     // the account it opened (a promo subscription's)
	// at is when the ledger did it, by its clock (this machine's): the
	// entry's posted_at, the hold's created_at; zero if the answer has none.
	at time.Time
}

// op is one request of the workload, sent (and sent again with the same
// request id, to any instance) until the ledger gives a definite answer,
// and what came of it. An operation kind is a send and an effect; a batch
// of payments, for example, is one more: a send that submits the batch
// and an effect that lists every payment's postings and entries.
type op struct {
	id   string // the request id
	kind string
	// send sends the request to in, with the same request id every time.
	send func(ctx context.Context, in *instance) (result, error)
	// effect is what the request does to balances once done.
	effect func(result) []posting

	attempts []attempt
	outcome  class  // classDone, classRefused, classNotDone (every answer said so), or classUnknown
	refusal  string // the answer that refused it
	res      result
	settled  bool // its outcome was learned by a replay after the run
}

// attempt is one call of an op.
type attempt struct {
	sent, got time.Time
	instance  int
	answer    answer
	settling  bool // a replay after the run, to learn the outcome
}

// ambiguous reports whether any answer left the op's outcome unknown.
func (o *op) ambiguous() bool {
	for _, a := range o.attempts {
		if a.answer.class == classUnknown || a.answer.class == classInternal {
			return true
		}
	}
	return false
}

// recorder keeps every op of the run and counts the answers.
type recorder struct {
	mu      sync.Mutex
	ops     []*op
	answers map[string]int64 // by answer name: the run's calls
	settles map[string]int64 // the replays' after the run
}

func newRecorder() *recorder {
	return &recorder{answers: map[string]int64{}, settles: map[string]int64{}}
}

func (r *recorder) add(o *op) {
	r.mu.Lock()
	r.ops = append(r.ops, o)
	r.mu.Unlock()
}

func (r *recorder) count(a answer, settling bool) {
	r.mu.Lock()
	if settling {
		r.settles[a.name]++
	} else {
		r.answers[a.name]++
	}
	r.mu.Unlock()
}

// snapshot returns the ops and the counts, for the checks and the report
// once every worker has stopped.
func (r *recorder) snapshot() ([]*op, map[string]int64, map[string]int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ops), maps.Clone(r.answers), maps.Clone(r.settles)
}

// Client behaviour.
const (
	// callTimeout is a call's deadline: longer than any compartment's
	// budget, so the server answers before the client gives up.
	callTimeout = 5 * time.Second
	// patience is how long a client keeps retrying one request during the
	// run before it leaves the outcome to be settled afterwards.
	patience = 10 * time.Second
	// maxBackoff caps the pause between tries.
	maxBackoff = time.Second
)

// caller sends ops for one goroutine of the workload.
type caller struct {
	rec       *recorder
	instances []*instance
	rng       *rand.Rand
}

// do sends o until the ledger gives a definite answer or patience runs
// out, trying another instance after each failure, as a client that load
// balances would. One client in five is impatient: it sends once and
// leaves any outcome but a definite one to be settled after the run, as a
// terminal that timed out would. do records o and returns its outcome.
func (c *caller) do(ctx context.Context, o *op) class {
	c.rec.add(o)
	limit := patience
	if c.rng.IntN(5) == 0 {
		limit = 0
	}
	return c.retry(ctx, o, limit, false)
}

// retry is do's loop; settling marks the replays after the run.
func (c *caller) retry(ctx context.Context, o *op, limit time.Duration, settling bool) class {
	deadline := time.Now().Add(limit)
	next := c.rng.IntN(len(c.instances))
	for n := 0; ; n++ {
		in := c.instances[(next+n)%len(c.instances)]
		a := c.try(ctx, o, in, settling)
		if a.class.final() {
			return o.outcome
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		if !sleep(ctx, c.backoff(n, a.retryAfter)) {
			break
		}
	}
	o.outcome = classUnknown
	if !o.ambiguous() {
		o.outcome = classNotDone // every answer promised nothing was done
	}
	return o.outcome
}

// try sends o once to in and records the answer.
func (c *caller) try(ctx context.Context, o *op, in *instance, settling bool) answer {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	sent := time.Now()
	res, err := o.send(cctx, in)
	got := time.Now()
	cancel()
	a := answerOf(err)
	if ctx.Err() != nil && a.class == classUnknown {
		a.name = "CANCELED (soak ending)" // the soak's own doing, not the ledger's
	}
	o.attempts = append(o.attempts, attempt{sent: sent, got: got, instance: in.n, answer: a, settling: settling})
	c.rec.count(a, settling)
	switch a.class {
	case classDone:
		o.outcome, o.res = classDone, res
	case classRefused, classUnexpected:
		o.outcome, o.refusal = a.class, a.name
	}
	return a
}

// backoff is the pause before try n+1: the server's RetryInfo if it gave
// one, else exponential from 50ms; capped, with jitter.
func (c *caller) backoff(n int, retryAfter time.Duration) time.Duration {
	d := retryAfter
	if d <= 0 {
		d = 50 * time.Millisecond << min(n, 5)
	}
	d = min(d, maxBackoff)
	return d/2 + time.Duration(c.rng.Int64N(int64(d)))
}

// sleep waits d, and reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
