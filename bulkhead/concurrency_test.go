package bulkhead_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corebanking/ledger/bulkhead"
)

// TestConcurrentInvariants floods a compartment and checks that the slots
// bound the concurrency, that every call is either admitted or rejected, and
// that nothing is left held or queued afterwards.
func TestConcurrentInvariants(t *testing.T) {
	const slots, callers, calls = 3, 16, 50
	c := bulkhead.New(bulkhead.Settings{MaxConcurrent: slots, MaxQueue: 4, MaxWait: time.Millisecond})
	var running, peak, tapRejects atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range calls {
				_ = c.Do(context.Background(), func(context.Context) error {
					n := running.Add(1)
					for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
					}
					time.Sleep(50 * time.Microsecond)
					running.Add(-1)
					return nil
				})
				if c.TryReject() != nil {
					tapRejects.Add(1)
				}
			}
		})
	}
	wg.Wait()
	st := c.Stats()
	if p := peak.Load(); p > slots {
		t.Fatalf("%d calls ran at once, limit %d", p, slots)
	}
	if st.InFlight != 0 || st.Queued != 0 {
		t.Fatalf("left held: %+v", st)
	}
	total := uint64(callers*calls + tapRejects.Load())
	if st.Admitted+st.TotalRejected() != total || st.Successes != st.Admitted || st.Failures != 0 {
		t.Fatalf("counters do not add up: %+v", st)
	}
	if st.State != bulkhead.StateClosed {
		t.Fatalf("shedding opened the breaker: %v", st.State)
	}
}
