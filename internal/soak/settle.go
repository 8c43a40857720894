package soak

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Settlement is what the replays after the run learned about the
// requests whose outcome the run left unknown.
type Settlement struct {
	Unknown int `json:"unknown"` // requests whose outcome was unknown when the run ended
	Done    int `json:"done"`    // found done by their replay (or done by it)
	Refused int `json:"refused"` // refused by their replay
	Left    int `json:"left"`    // still unknown after every replay
}

// settleLimit bounds the replays of one request, once everything is healed.
const settleLimit = 2 * time.Minute

// settle replays every request whose outcome is unknown, with its request
// id, until the ledger answers for good: it was done (and returns its
// result), or it is done now, or it is refused.
func (s *Soak) settle(ctx context.Context) Settlement {
	ops, _, _ := s.rec.snapshot()
	var todo []*op
	for _, o := range ops {
		if o.outcome == classUnknown {
			todo = append(todo, o)
		}
	}
	var st Settlement
	st.Unknown = len(todo)
	s.logf("settling %d requests of unknown outcome by replay", len(todo))
	work := make(chan *op)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for n := range min(8, len(todo)) {
		c := &caller{rec: s.rec, instances: s.instances, rng: rand.New(rand.NewPCG(s.cfg.Seed, uint64(2<<32+n)))}
		wg.Go(func() {
			for o := range work {
				got := c.retry(ctx, o, settleLimit, true)
				o.settled = true
				mu.Lock()
				switch got {
				case classDone:
					st.Done++
				case classRefused, classUnexpected:
					st.Refused++
				default:
					st.Left++
				}
				mu.Unlock()
			}
		})
	}
	for _, o := range todo {
		work <- o
	}
	close(work)
	wg.Wait()
	return st
}
