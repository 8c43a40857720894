package bulkhead_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/corebanking/ledger/bulkhead"
)

func TestAdmitUpToMaxConcurrent(t *testing.T) {
	c := bulkhead.New(bulkhead.Settings{Name: "teller", MaxConcurrent: 3, MaxQueue: -1})
	releases := []func(error){mustAdmit(t, c), mustAdmit(t, c), mustAdmit(t, c)}
	if got := c.Stats().InFlight; got != 3 {
		t.Fatalf("InFlight = %d, want 3", got)
	}
	err := c.Do(context.Background(), func(context.Context) error { t.Error("work ran"); return nil })
	wantReject(t, err, bulkhead.ReasonSaturated, bulkhead.ErrSaturated)

	releases[0](nil)
	if err := c.Do(context.Background(), ok); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

func TestQueue(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		c := bulkhead.New(bulkhead.Settings{MaxConcurrent: 1, MaxQueue: 1, MaxWait: time.Hour})
		release := mustAdmit(t, c)
		res, ran := doAsync(context.Background(), c, ok)
		waitFor(t, "a queued call", func() bool { return c.Stats().Queued == 1 })
		release(nil)
		if err := receive(t, res); err != nil || !*ran {
			t.Fatalf("queued call: err %v, ran %v", err, *ran)
		}
		if st := c.Stats(); st.Admitted != 2 || st.Queued != 0 || st.InFlight != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("TimeoutFakeClock", func(t *testing.T) {
		clock := newFakeClock()
		c := bulkhead.New(bulkhead.Settings{MaxConcurrent: 1, MaxWait: time.Hour, Now: clock.Now})
		release := mustAdmit(t, c)
		res, ran := doAsync(context.Background(), c, ok)
		waitFor(t, "a queued call", func() bool { return c.Stats().Queued == 1 })
		clock.Advance(2 * time.Hour)
		release(nil)
		wantReject(t, receive(t, res), bulkhead.ReasonQueueTimeout, bulkhead.ErrSaturated)
		if *ran {
			t.Fatal("stale waiter ran its work")
		}
		if st := c.Stats(); st.InFlight != 0 || st.Rejected[bulkhead.ReasonQueueTimeout] != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("TimeoutMaxWait", func(t *testing.T) {
		c := bulkhead.New(bulkhead.Settings{MaxConcurrent: 1, MaxWait: 5 * time.Millisecond})
		mustAdmit(t, c)
		err := c.Do(context.Background(), ok)
		wantReject(t, err, bulkhead.ReasonQueueTimeout, bulkhead.ErrSaturated)
	})
	t.Run("CanceledWaiterLeaves", func(t *testing.T) {
		c := bulkhead.New(bulkhead.Settings{MaxConcurrent: 1, MaxWait: time.Hour})
		release := mustAdmit(t, c)
		ctx, cancel := context.WithCancel(context.Background())
		res, _ := doAsync(ctx, c, ok)
		waitFor(t, "a queued call", func() bool { return c.Stats().Queued == 1 })
		cancel()
		wantReject(t, receive(t, res), bulkhead.ReasonCanceled, context.Canceled)
		if q := c.Stats().Queued; q != 0 {
			t.Fatalf("Queued = %d after cancel", q)
		}
		release(nil)
		if err := c.Do(context.Background(), ok); err != nil {
			t.Fatalf("slot leaked: %v", err)
		}
	})
}

func TestShedWhenQueueFull(t *testing.T) {
	c := bulkhead.New(bulkhead.Settings{MaxConcurrent: 1, MaxQueue: 1, MaxWait: time.Hour, MinRequests: 1})
	release := mustAdmit(t, c)
	res, _ := doAsync(context.Background(), c, ok)
	waitFor(t, "a queued call", func() bool { return c.Stats().Queued == 1 })
	for range 5 {
		wantReject(t, c.Do(context.Background(), ok), bulkhead.ReasonSaturated, bulkhead.ErrSaturated)
	}
	st := c.Stats()
	if st.Rejected[bulkhead.ReasonSaturated] != 5 || st.Failures != 0 || st.State != bulkhead.StateClosed {
		t.Fatalf("shedding reached the breaker: %+v", st)
	}
	release(nil)
	if err := receive(t, res); err != nil {
		t.Fatalf("queued call: %v", err)
	}
}

func TestNoTime(t *testing.T) {
	run := func(t *testing.T, c *bulkhead.Compartment, ctx context.Context) error {
		t.Helper()
		return c.Do(ctx, func(context.Context) error { t.Error("work ran"); return nil })
	}
	t.Run("DeadlinePassed", func(t *testing.T) {
		c := bulkhead.New(bulkhead.Settings{})
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		wantReject(t, run(t, c, ctx), bulkhead.ReasonNoTime, bulkhead.ErrNoTime)
	})
	t.Run("DeadlineWithinFloor", func(t *testing.T) {
		c := bulkhead.New(bulkhead.Settings{MinRemaining: time.Hour})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		wantReject(t, run(t, c, ctx), bulkhead.ReasonNoTime, bulkhead.ErrNoTime)
		if errors.Is(run(t, c, ctx), bulkhead.ErrSaturated) {
			t.Fatal("ErrNoTime must not be ErrSaturated")
		}
	})
	t.Run("DeadlineWhileQueued", func(t *testing.T) {
		c := bulkhead.New(bulkhead.Settings{MaxConcurrent: 1, MaxWait: time.Hour})
		mustAdmit(t, c)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		wantReject(t, run(t, c, ctx), bulkhead.ReasonNoTime, bulkhead.ErrNoTime)
	})
	t.Run("Canceled", func(t *testing.T) {
		c := bulkhead.New(bulkhead.Settings{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		wantReject(t, run(t, c, ctx), bulkhead.ReasonCanceled, context.Canceled)
	})
}

func TestDoAppliesTimeout(t *testing.T) {
	c := bulkhead.New(bulkhead.Settings{Timeout: time.Hour})
	deadlineIn := func(ctx context.Context) (dl time.Time) {
		var inner context.Context
		if err := c.Do(ctx, func(ctx context.Context) error {
			inner = ctx
			dl, _ = ctx.Deadline()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if inner.Err() == nil {
			t.Error("work's context not canceled after Do returned")
		}
		return dl
	}
	t.Run("CallerSooner", func(t *testing.T) {
		want := time.Now().Add(time.Minute)
		ctx, cancel := context.WithDeadline(context.Background(), want)
		defer cancel()
		if got := deadlineIn(ctx); !got.Equal(want) {
			t.Fatalf("deadline %v, want caller's %v", got, want)
		}
	})
	t.Run("BudgetSooner", func(t *testing.T) {
		caller := time.Now().Add(2 * time.Hour)
		ctx, cancel := context.WithDeadline(context.Background(), caller)
		defer cancel()
		if got := deadlineIn(ctx); !got.Before(caller) || got.After(time.Now().Add(time.Hour)) {
			t.Fatalf("deadline %v, want within the 1h budget", got)
		}
	})
	t.Run("NoCallerDeadline", func(t *testing.T) {
		before := time.Now()
		got := deadlineIn(context.Background())
		if got.Before(before.Add(time.Hour)) || got.After(time.Now().Add(time.Hour)) {
			t.Fatalf("deadline %v, want now+1h", got)
		}
	})
}

// The context of a call whose budget ran out says so (ErrTimeout), so that
// a server can tell its own time limit from the caller's deadline.
func TestTimeoutCause(t *testing.T) {
	c := bulkhead.New(bulkhead.Settings{Timeout: 20 * time.Millisecond})
	causeOf := func(parent context.Context) error {
		var cause error
		if err := c.Do(parent, func(ctx context.Context) error {
			<-ctx.Done()
			cause = context.Cause(ctx)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return cause
	}
	t.Run("BudgetRanOut", func(t *testing.T) {
		if cause := causeOf(context.Background()); !errors.Is(cause, bulkhead.ErrTimeout) {
			t.Fatalf("cause %v, want ErrTimeout", cause)
		}
	})
	t.Run("CallersDeadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel()
		if cause := causeOf(ctx); !errors.Is(cause, context.DeadlineExceeded) || errors.Is(cause, bulkhead.ErrTimeout) {
			t.Fatalf("cause %v, want the caller's context.DeadlineExceeded", cause)
		}
	})
}

func TestReleaseIsIdempotent(t *testing.T) {
	c := bulkhead.New(bulkhead.Settings{MaxConcurrent: 1})
	ctx, release, err := c.Admit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	release(nil)
	release(errors.New("again"))
	if ctx.Err() == nil {
		t.Error("release did not cancel the call's context")
	}
	st := c.Stats()
	if st.InFlight != 0 || st.Successes != 1 || st.Failures != 0 {
		t.Fatalf("stats after double release: %+v", st)
	}
	if err := c.Do(context.Background(), ok); err != nil {
		t.Fatal(err)
	}
}

func TestTryReject(t *testing.T) {
	c := bulkhead.New(bulkhead.Settings{MaxConcurrent: 1, MaxQueue: -1})
	if err := c.TryReject(); err != nil {
		t.Fatalf("idle: %v", err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = c.TryReject() }); n != 0 {
		t.Errorf("TryReject allocates %v times", n)
	}
	release := mustAdmit(t, c)
	wantReject(t, c.TryReject(), bulkhead.ReasonSaturated, bulkhead.ErrSaturated)
	if n := testing.AllocsPerRun(100, func() { _ = c.TryReject() }); n != 0 {
		t.Errorf("rejecting TryReject allocates %v times", n)
	}
	release(nil)
	if err := c.TryReject(); err != nil {
		t.Fatalf("after release: %v", err)
	}
	if st := c.Stats(); st.InFlight != 0 || st.Admitted != 1 {
		t.Fatalf("TryReject reserved something: %+v", st)
	}
}

func TestStats(t *testing.T) {
	c := bulkhead.New(bulkhead.Settings{Name: "audit", MaxConcurrent: 2, MaxQueue: -1})
	_ = c.Do(context.Background(), ok)
	_ = c.Do(context.Background(), func(context.Context) error { return errBusiness })
	_ = c.Do(context.Background(), timeout)
	r1, r2 := mustAdmit(t, c), mustAdmit(t, c)
	_ = c.Do(context.Background(), ok) // shed
	r1(nil)
	r2(nil)
	want := bulkhead.Stats{
		Name: "audit", State: bulkhead.StateClosed, Admitted: 5, Successes: 4, Failures: 1,
		MaxConcurrent: 2, Limit: 2, MaxQueue: 0, MaxWait: 50 * time.Millisecond, Timeout: 2 * time.Second,
	}
	want.Rejected[bulkhead.ReasonSaturated] = 1
	if got := c.Stats(); got != want {
		t.Fatalf("Stats()\n got %+v\nwant %+v", got, want)
	}
	if n := c.Stats().TotalRejected(); n != 1 {
		t.Fatalf("TotalRejected = %d", n)
	}
	if c.Name() != "audit" || c.Timeout() != 2*time.Second {
		t.Fatalf("Name = %q, Timeout = %v", c.Name(), c.Timeout())
	}
}

func TestDefaults(t *testing.T) {
	st := bulkhead.New(bulkhead.Settings{}).Stats()
	if st.MaxConcurrent != 8 || st.MaxQueue != 16 || st.MaxWait != 50*time.Millisecond || st.Timeout != 2*time.Second {
		t.Fatalf("defaults: %+v", st)
	}
}

func TestString(t *testing.T) {
	for v, want := range map[interface{ String() string }]string{
		bulkhead.StateClosed: "closed", bulkhead.StateHalfOpen: "half-open", bulkhead.StateOpen: "open",
		bulkhead.State(9): "State(9)", bulkhead.ReasonSaturated: "saturated",
		bulkhead.ReasonQueueTimeout: "queue-timeout", bulkhead.ReasonNoTime: "no-time",
		bulkhead.ReasonCircuitOpen: "circuit-open", bulkhead.ReasonCanceled: "canceled",
		bulkhead.RejectReason(9): "RejectReason(9)",
	} {
		if got := v.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}
