package bulkhead_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/corebanking/ledger/bulkhead"
)

// transitions records OnStateChange calls.
type transitions struct {
	mu  sync.Mutex
	got []string
}

func (tr *transitions) record(name string, from, to bulkhead.State) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.got = append(tr.got, fmt.Sprintf("%s:%v->%v", name, from, to))
}

func (tr *transitions) list() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.got)
}

// tripSettings trips after 4 finished calls with at least half failing.
// gobreaker v2.4.0 reads time.Now itself and has no clock option, so the
// open->half-open tests use a small real OpenTimeout and poll State.
func tripSettings(tr *transitions, openTimeout time.Duration) bulkhead.Settings {
	return bulkhead.Settings{
		Name: "promo", MaxConcurrent: 4, MinRequests: 4, FailureRatio: 0.5,
		OpenTimeout: openTimeout, HalfOpenProbes: 2, OnStateChange: tr.record,
	}
}

// trip makes c's breaker open with two successes and two timeouts.
func trip(tb testing.TB, c *bulkhead.Compartment) {
	tb.Helper()
	for _, work := range []func(context.Context) error{ok, timeout, ok, timeout} {
		_ = c.Do(context.Background(), work)
	}
}

// halfOpen trips c and polls until the breaker has turned half-open.
func halfOpen(tb testing.TB, c *bulkhead.Compartment) {
	tb.Helper()
	trip(tb, c)
	waitFor(tb, "half-open", func() bool { return c.Stats().State == bulkhead.StateHalfOpen })
}

func TestClassification(t *testing.T) {
	clock := newFakeClock()
	errQuery := fmt.Errorf("query: %w", context.DeadlineExceeded)
	errUnavailable := errors.New("unavailable")
	c := bulkhead.New(bulkhead.Settings{SlowCall: time.Second, Now: clock.Now,
		IsFailure: func(err error) bool {
			return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errUnavailable)
		}})
	for _, tc := range []struct {
		name    string
		work    func(context.Context) error
		want    error
		failure bool
	}{
		{"BusinessErrorIsSuccess", func(context.Context) error { return errBusiness }, errBusiness, false},
		{"NilIsSuccess", ok, nil, false},
		{"DeadlineExceededIsFailure", func(context.Context) error { return errQuery }, errQuery, true},
		{"IsFailureIsConsulted", func(context.Context) error { return errUnavailable }, errUnavailable, true},
		{"SlowCallIsFailure", func(context.Context) error { clock.Advance(time.Second); return nil }, nil, true},
		{"FastEnoughIsSuccess", func(context.Context) error { clock.Advance(time.Second - 1); return nil }, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := c.Stats()
			if err := c.Do(context.Background(), tc.work); err != tc.want {
				t.Fatalf("Do returned %v, want the work's error %v", err, tc.want)
			}
			after := c.Stats()
			wantFailures := before.Failures
			if tc.failure {
				wantFailures++
			}
			if after.Failures != wantFailures || after.Successes+after.Failures != before.Successes+before.Failures+1 {
				t.Fatalf("stats %+v after %+v, want failure=%v counted once", after, before, tc.failure)
			}
		})
	}
	if st := c.Stats(); st.SlowCalls != 1 {
		t.Fatalf("SlowCalls = %d, want 1", st.SlowCalls)
	}
}

func TestPanicIsFailure(t *testing.T) {
	c := bulkhead.New(bulkhead.Settings{MaxConcurrent: 1})
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic swallowed")
			}
		}()
		_ = c.Do(context.Background(), func(context.Context) error { panic("boom") })
	}()
	if st := c.Stats(); st.Failures != 1 || st.InFlight != 0 {
		t.Fatalf("stats after panic: %+v", st)
	}
}

func TestBreakerOpensAndFailsFast(t *testing.T) {
	tr := &transitions{}
	c := bulkhead.New(tripSettings(tr, time.Hour))
	for _, work := range []func(context.Context) error{timeout, ok, ok} {
		_ = c.Do(context.Background(), work)
	}
	if s := c.Stats().State; s != bulkhead.StateClosed {
		t.Fatalf("opened before MinRequests: %v", s)
	}
	_ = c.Do(context.Background(), timeout) // 2 of 4 failed
	if s := c.Stats().State; s != bulkhead.StateOpen {
		t.Fatalf("state %v, want open", s)
	}
	err := c.Do(context.Background(), func(context.Context) error { t.Error("work ran while open"); return nil })
	wantReject(t, err, bulkhead.ReasonCircuitOpen, bulkhead.ErrCircuitOpen)
	wantReject(t, c.TryReject(), bulkhead.ReasonCircuitOpen, bulkhead.ErrCircuitOpen)
	if ra := c.RetryAfter(); ra <= 0 || ra > time.Hour {
		t.Fatalf("RetryAfter = %v, want within (0, OpenTimeout]", ra)
	}
	st := c.Stats()
	if st.Admitted != 4 || st.Failures != 2 || st.Rejected[bulkhead.ReasonCircuitOpen] != 2 {
		t.Fatalf("stats %+v", st)
	}
	if got := tr.list(); !slices.Equal(got, []string{"promo:closed->open"}) {
		t.Fatalf("transitions %v", got)
	}
}

func TestBreakerHalfOpen(t *testing.T) {
	t.Run("ClosesAfterProbes", func(t *testing.T) {
		tr := &transitions{}
		c := bulkhead.New(tripSettings(tr, 20*time.Millisecond))
		halfOpen(t, c)
		_, probe1, err1 := c.Admit(context.Background())
		_, probe2, err2 := c.Admit(context.Background())
		if err1 != nil || err2 != nil {
			t.Fatalf("probes refused: %v, %v", err1, err2)
		}
		err := c.Do(context.Background(), func(context.Context) error { t.Error("third probe ran"); return nil })
		wantReject(t, err, bulkhead.ReasonCircuitOpen, bulkhead.ErrCircuitOpen)
		if c.TryReject() != nil {
			t.Fatal("TryReject refused while half-open")
		}
		probe1(nil)
		probe2(errBusiness)
		if s := c.Stats().State; s != bulkhead.StateClosed {
			t.Fatalf("state %v after good probes, want closed", s)
		}
		want := []string{"promo:closed->open", "promo:open->half-open", "promo:half-open->closed"}
		if got := tr.list(); !slices.Equal(got, want) {
			t.Fatalf("transitions %v, want %v", got, want)
		}
		if c.RetryAfter() != 50*time.Millisecond {
			t.Fatalf("RetryAfter when closed = %v, want MaxWait", c.RetryAfter())
		}
	})
	t.Run("ReopensOnFailedProbe", func(t *testing.T) {
		tr := &transitions{}
		c := bulkhead.New(tripSettings(tr, 20*time.Millisecond))
		halfOpen(t, c)
		if err := c.Do(context.Background(), timeout); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("probe: %v", err)
		}
		want := []string{"promo:closed->open", "promo:open->half-open", "promo:half-open->open"}
		if got := tr.list(); !slices.Equal(got[:3], want) {
			t.Fatalf("transitions %v, want prefix %v", got, want)
		}
	})
}
