package bulkhead_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/corebanking/ledger/bulkhead"
)

// fakeClock is a Settings.Now that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// waitFor polls cond until it holds; it bounds the wait so a bug fails the
// test instead of hanging it, and asserts nothing about how long it took.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// mustAdmit admits a call and returns its release function; the call is
// released at cleanup if the test has not done so.
func mustAdmit(tb testing.TB, c *bulkhead.Compartment) func(error) {
	tb.Helper()
	_, release, err := c.Admit(context.Background())
	if err != nil {
		tb.Fatalf("Admit: %v", err)
	}
	tb.Cleanup(func() { release(nil) })
	return release
}

// doAsync runs c.Do in a goroutine; the result arrives on the channel and
// ran reports whether the work was run.
func doAsync(ctx context.Context, c *bulkhead.Compartment, work func(context.Context) error) (res <-chan error, ran *bool) {
	ch := make(chan error, 1)
	ran = new(bool)
	go func() {
		ch <- c.Do(ctx, func(ctx context.Context) error {
			*ran = true
			return work(ctx)
		})
	}()
	return ch, ran
}

// receive waits for a result of doAsync.
func receive(tb testing.TB, ch <-chan error) error {
	tb.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		tb.Fatal("Do did not return")
		return nil
	}
}

// wantReject checks that err is a *RejectError for reason wrapping target.
func wantReject(tb testing.TB, err error, reason bulkhead.RejectReason, target error) {
	tb.Helper()
	var re *bulkhead.RejectError
	if !errors.As(err, &re) || re.Reason != reason || !errors.Is(err, target) {
		tb.Fatalf("got %v, want rejection %v wrapping %v", err, reason, target)
	}
}

func ok(context.Context) error { return nil }

// errBusiness is a business outcome, a success to the breaker.
var errBusiness = errors.New("insufficient funds")

func timeout(context.Context) error { return context.DeadlineExceeded }
