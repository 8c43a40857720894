package bulkhead_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/corebanking/ledger/bulkhead"
)

// newAdaptive is a compartment with an adaptive limit between 2 and 8, a
// 100ms latency target, no queue, and a breaker that judges nothing here.
func newAdaptive(clock *fakeClock) *bulkhead.Compartment {
	return bulkhead.New(bulkhead.Settings{
		Name: "promo", MaxConcurrent: 8, MinConcurrent: 2, TargetLatency: 100 * time.Millisecond,
		MaxQueue: -1, SlowCall: -1, MinRequests: 1_000_000, Now: clock.Now,
	})
}

// fill admits calls until the compartment refuses one, checks that the
// refusal is saturation, and returns the release functions: as many as the
// limit lets in.
func fill(t *testing.T, c *bulkhead.Compartment) []func(error) {
	t.Helper()
	var releases []func(error)
	for {
		_, release, err := c.Admit(context.Background())
		if err != nil {
			if !errors.Is(err, bulkhead.ErrSaturated) {
				t.Fatalf("Admit refused with %v, want saturated", err)
			}
			return releases
		}
		releases = append(releases, release)
		if len(releases) > 100 {
			t.Fatal("the compartment admits without bound")
		}
	}
}

// round runs as many calls as the limit admits, all taking took on the
// fake clock, and returns the limit after them and how many were admitted.
func round(t *testing.T, c *bulkhead.Compartment, clock *fakeClock, took time.Duration) (limit, admitted int) {
	t.Helper()
	releases := fill(t, c)
	clock.Advance(took)
	for _, release := range releases {
		release(nil)
	}
	return c.Limit(), len(releases)
}

// TestAdaptiveLimit drives the latency up, then down, and watches the limit
// fall to its floor and climb back to the configured maximum, never leaving
// its bounds, with the compartment admitting exactly the limit each time.
func TestAdaptiveLimit(t *testing.T) {
	clock := newFakeClock()
	c := newAdaptive(clock)
	if c.Limit() != 8 || c.Stats().Limit != 8 {
		t.Fatalf("limit %d at start, want the maximum 8", c.Limit())
	}

	t.Run("LatencyRises", func(t *testing.T) {
		// One cut per round: the calls admitted before a cut tell of the
		// old limit. 8 -> 6 -> 4 -> 3 -> 2, then the floor holds.
		want := []int{6, 4, 3, 2, 2, 2}
		admittedBefore := 8
		for i, w := range want {
			limit, admitted := round(t, c, clock, 200*time.Millisecond)
			if admitted != admittedBefore {
				t.Fatalf("round %d admitted %d calls, want the limit %d", i, admitted, admittedBefore)
			}
			if limit != w {
				t.Fatalf("round %d: limit %d, want %d", i, limit, w)
			}
			admittedBefore = limit
		}
		if st := c.Stats(); st.Limit != 2 || st.MaxConcurrent != 8 {
			t.Fatalf("Stats limit %d of %d, want 2 of 8", st.Limit, st.MaxConcurrent)
		}
	})

	t.Run("LatencyFalls", func(t *testing.T) {
		// A limit's worth of fast calls under load raises it by one, up
		// to the configured maximum and no further.
		prev := c.Limit()
		for i := range 12 {
			limit, admitted := round(t, c, clock, 10*time.Millisecond)
			if admitted != prev {
				t.Fatalf("round %d admitted %d calls, want the limit %d", i, admitted, prev)
			}
			if want := min(prev+1, 8); limit != want {
				t.Fatalf("round %d: limit %d after %d fast calls, want %d", i, limit, admitted, want)
			}
			prev = limit
		}
	})

	t.Run("FailureCuts", func(t *testing.T) {
		releases := fill(t, c)
		releases[0](context.DeadlineExceeded) // a fast failure is still a failure
		for _, release := range releases[1:] {
			release(nil)
		}
		if c.Limit() != 6 {
			t.Fatalf("limit %d after a failed call, want 6", c.Limit())
		}
	})

	t.Run("IdleDoesNotGrow", func(t *testing.T) {
		// Fast calls while the limit is mostly unused say nothing about
		// more concurrency: the limit stays.
		for range 20 {
			release := mustAdmit(t, c)
			clock.Advance(time.Millisecond)
			release(nil)
		}
		if c.Limit() != 6 {
			t.Fatalf("limit %d after calls one at a time, want it unchanged at 6", c.Limit())
		}
	})
}

// TestFixedLimitWithoutTarget shows that a compartment without a latency
// target keeps MaxConcurrent however slow its calls.
func TestFixedLimitWithoutTarget(t *testing.T) {
	clock := newFakeClock()
	c := bulkhead.New(bulkhead.Settings{MaxConcurrent: 4, MaxQueue: -1, SlowCall: -1, Now: clock.Now})
	for range 3 {
		if limit, admitted := round(t, c, clock, time.Hour); limit != 4 || admitted != 4 {
			t.Fatalf("limit %d, admitted %d; want 4 and 4", limit, admitted)
		}
	}
}

// TestAdaptiveLimitUnderChurn moves the limit from many goroutines at once
// with random latencies, then checks that what the compartment admits is
// exactly its limit, within bounds: the reservations behind the limit were
// never lost or doubled.
func TestAdaptiveLimitUnderChurn(t *testing.T) {
	clock := newFakeClock()
	c := newAdaptive(clock)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for range 500 {
				_, release, err := c.Admit(context.Background())
				if err != nil {
					continue
				}
				if r.IntN(4) == 0 {
					clock.Advance(150 * time.Millisecond) // a slow one
				}
				var fail error
				if r.IntN(20) == 0 {
					fail = context.DeadlineExceeded
				}
				release(fail)
			}
		}()
	}
	wg.Wait()
	limit := c.Limit()
	if limit < 2 || limit > 8 {
		t.Fatalf("limit %d outside [2, 8]", limit)
	}
	releases := fill(t, c)
	if len(releases) != limit {
		t.Fatalf("%d calls admitted at once, want the limit %d", len(releases), limit)
	}
	if st := c.Stats(); st.InFlight != limit {
		t.Fatalf("in flight %d, want %d", st.InFlight, limit)
	}
	for _, release := range releases {
		release(nil)
	}
}
