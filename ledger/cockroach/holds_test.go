package cockroach_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

func TestHoldLifecycle(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	f.MustOpen(t, "alice", 100_000)
	f.MustOpen(t, "bob", 0)
	place := func(t *testing.T, amount int64, ttl time.Duration) ledger.Hold {
		t.Helper()
		h, err := f.PlaceHold(ctx, ledger.PlaceHoldRequest{RequestID: f.rid(), AccountID: "alice", Amount: amount, Currency: "KRW", TTL: ttl, ATMID: "atm-9"})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	wantBalance := func(t *testing.T, posted, held int64) {
		t.Helper()
		if b := f.MustBalance(t, "alice"); b.Posted != posted || b.Held != held || b.Available() != posted-held {
			t.Fatalf("alice = %+v, want posted %d held %d", b, posted, held)
		}
	}

	t.Run("HoldReducesAvailable", func(t *testing.T) {
		h := place(t, 60_000, time.Minute)
		wantBalance(t, 100_000, 60_000)
		_, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: f.rid(), From: "alice", To: "bob", Amount: 40_001, Currency: "KRW"})
		AssertCode(t, err, ledger.CodeInsufficientFunds)
		_, err = f.PlaceHold(ctx, ledger.PlaceHoldRequest{RequestID: f.rid(), AccountID: "alice", Amount: 40_001, Currency: "KRW"})
		AssertCode(t, err, ledger.CodeInsufficientFunds)
		if _, err := f.VoidHold(ctx, ledger.VoidHoldRequest{RequestID: f.rid(), HoldID: h.ID}); err != nil {
			t.Fatal(err)
		}
		wantBalance(t, 100_000, 0)
	})
	t.Run("PartialCaptureReleasesRest", func(t *testing.T) {
		h := place(t, 30_000, time.Minute)
		rid := f.rid()
		c, err := f.CaptureHold(ctx, ledger.CaptureHoldRequest{RequestID: rid, HoldID: h.ID, Amount: 20_000})
		if err != nil {
			t.Fatal(err)
		}
		if c.Hold.Status != ledger.HoldCaptured || c.Hold.CapturedAmount != 20_000 || c.Entry.Postings[1].AccountID != ledger.ATMAccountID("atm-9", "KRW") {
			t.Fatalf("capture = %+v", c)
		}
		wantBalance(t, 80_000, 0)

		again, err := f.CaptureHold(ctx, ledger.CaptureHoldRequest{RequestID: rid, HoldID: h.ID, Amount: 20_000})
		if err != nil || again.Entry.ID != c.Entry.ID {
			t.Fatalf("replayed capture = %+v, %v; want entry %s", again, err, c.Entry.ID)
		}
		_, err = f.CaptureHold(ctx, ledger.CaptureHoldRequest{RequestID: f.rid(), HoldID: h.ID, Amount: 1})
		AssertCode(t, err, ledger.CodeHoldNotActive)
		_, err = f.VoidHold(ctx, ledger.VoidHoldRequest{RequestID: f.rid(), HoldID: h.ID})
		AssertCode(t, err, ledger.CodeHoldNotActive)
		wantBalance(t, 80_000, 0)
	})
	t.Run("FullCapture", func(t *testing.T) {
		h := place(t, 5_000, time.Minute)
		c, err := f.CaptureHold(ctx, ledger.CaptureHoldRequest{RequestID: f.rid(), HoldID: h.ID})
		if err != nil || c.Hold.CapturedAmount != 5_000 {
			t.Fatalf("capture = %+v, %v", c, err)
		}
		wantBalance(t, 75_000, 0)
	})
	t.Run("ErrHoldAmountExceeded", func(t *testing.T) {
		h := place(t, 1_000, time.Minute)
		_, err := f.CaptureHold(ctx, ledger.CaptureHoldRequest{RequestID: f.rid(), HoldID: h.ID, Amount: 1_001})
		AssertCode(t, err, ledger.CodeHoldAmountExceeded)
		if _, err := f.VoidHold(ctx, ledger.VoidHoldRequest{RequestID: f.rid(), HoldID: h.ID}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("VoidIsIdempotent", func(t *testing.T) {
		h := place(t, 2_000, time.Minute)
		rid := f.rid()
		v1, err1 := f.VoidHold(ctx, ledger.VoidHoldRequest{RequestID: rid, HoldID: h.ID})
		v2, err2 := f.VoidHold(ctx, ledger.VoidHoldRequest{RequestID: rid, HoldID: h.ID})
		if err1 != nil || err2 != nil || v1.Status != ledger.HoldVoided || v2 != v1 {
			t.Fatalf("void = %+v %v, replay = %+v %v", v1, err1, v2, err2)
		}
		wantBalance(t, 75_000, 0)
	})
	t.Run("Expiry", func(t *testing.T) {
		h := place(t, 50_000, 10*time.Second)
		wantBalance(t, 75_000, 50_000)
		f.clock.Advance(9 * time.Second)
		wantBalance(t, 75_000, 50_000)
		f.clock.Advance(time.Second)
		wantBalance(t, 75_000, 0) // expired: no longer held
		_, err := f.CaptureHold(ctx, ledger.CaptureHoldRequest{RequestID: f.rid(), HoldID: h.ID})
		AssertCode(t, err, ledger.CodeHoldExpired)
		_, err = f.VoidHold(ctx, ledger.VoidHoldRequest{RequestID: f.rid(), HoldID: h.ID})
		AssertCode(t, err, ledger.CodeHoldExpired)
		// The released money can be spent in full.
		if _, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: f.rid(), From: "alice", To: "bob", Amount: 75_000, Currency: "KRW"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrHoldNotFound", func(t *testing.T) {
		_, err := f.CaptureHold(ctx, ledger.CaptureHoldRequest{RequestID: f.rid(), HoldID: "00000000-0000-4000-8000-000000000000"})
		AssertCode(t, err, ledger.CodeHoldNotFound)
	})
	f.AssertBooksBalance(t)
}

// TestATMRush authorizes holds at many ATMs at once, each on its own
// account, as a payday queue does. Every placement must succeed, and
// placements must not conflict with each other: they share no row, so a
// retry is the exception. (When each placement read the holds' index, even
// for an account with no hold, there was more than one retry per
// placement.)
func TestATMRush(t *testing.T) {
	ctx := context.Background()
	var retries atomic.Int64
	f := MustOpenStore(t, cockroach.Options{OnRetry: func(int, error) { retries.Add(1) }})
	const atms, each = 16, 40
	for a := range atms {
		for i := range each {
			f.MustOpen(t, fmt.Sprintf("rush-%d-%d", a, i), 10_000)
		}
	}
	retries.Store(0)
	holds := make([][]string, atms)
	rush := func(op func(a, i int) error) {
		var wg sync.WaitGroup
		for a := range atms {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if err := op(a, i); err != nil {
						t.Errorf("rush-%d-%d: %v", a, i, err)
					}
				}
			}()
		}
		wg.Wait()
	}
	rush(func(a, i int) error {
		id := fmt.Sprintf("rush-%d-%d", a, i)
		h, err := f.PlaceHold(ctx, ledger.PlaceHoldRequest{RequestID: "hold-" + id, AccountID: id, Amount: 3_000,
			Currency: "KRW", ATMID: fmt.Sprintf("atm-%d", a)})
		holds[a] = append(holds[a], h.ID)
		return err
	})
	if r := retries.Load(); r > atms*each/10 {
		t.Errorf("%d placements retried %d times: placements on different accounts conflict", atms*each, r)
	}
	for a := range atms {
		if b := f.MustBalance(t, fmt.Sprintf("rush-%d-%d", a, each-1)); b.Held != 3_000 || b.Available() != 7_000 {
			t.Errorf("rush-%d-%d = %+v, want 3000 held", a, each-1, b)
		}
	}
	// Then every ATM captures its holds, half of them in part. A capture
	// reads its own account's holds; it must not keep retrying on the
	// others' captures. (With the holds in a partial index of the active
	// ones, this retried about once per capture.)
	retries.Store(0)
	rush(func(a, i int) error {
		amount := int64(3_000)
		if i%2 == 1 {
			amount = 1_000
		}
		_, err := f.CaptureHold(ctx, ledger.CaptureHoldRequest{RequestID: fmt.Sprintf("capture-%d-%d", a, i), HoldID: holds[a][i], Amount: amount})
		return err
	})
	t.Logf("%d captures retried %d times", atms*each, retries.Load())
	if r := retries.Load(); r > atms*each/3 {
		t.Errorf("%d captures retried %d times: captures on different accounts conflict", atms*each, r)
	}
	for a := range atms {
		if b := f.MustBalance(t, fmt.Sprintf("rush-%d-%d", a, each-1)); b.Held != 0 || b.Posted != 9_000 {
			t.Errorf("rush-%d-%d = %+v, want 9000 and nothing held", a, each-1, b)
		}
	}
	f.AssertBooksBalance(t)
}

// TestRacingHoldsNeverOverdraw races holds on one account, with and without
// an earlier hold active: together they never hold more than the balance.
func TestRacingHoldsNeverOverdraw(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		prior int64 // an active hold placed first, with a longer life than the racers'
	}{{"NoHoldBefore", 0}, {"HoldBefore", 1_000}} {
		t.Run(c.name, func(t *testing.T) {
			f := MustOpenStore(t, cockroach.Options{})
			f.MustOpen(t, "carol", 10_000)
			if c.prior > 0 {
				if _, err := f.PlaceHold(ctx, ledger.PlaceHoldRequest{RequestID: f.rid(), AccountID: "carol", Amount: c.prior,
					Currency: "KRW", TTL: time.Hour}); err != nil {
					t.Fatal(err)
				}
			}
			const racers, amount = 12, 3_000
			var wg sync.WaitGroup
			var placed atomic.Int64
			for range racers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := f.PlaceHold(ctx, ledger.PlaceHoldRequest{RequestID: f.rid(), AccountID: "carol", Amount: amount,
						Currency: "KRW", TTL: time.Minute})
					if err == nil {
						placed.Add(1)
						return
					}
					if ledger.ErrorCode(err) != ledger.CodeInsufficientFunds {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			want := (10_000 - c.prior) / amount
			if b := f.MustBalance(t, "carol"); placed.Load() != want || b.Held != c.prior+want*amount || b.Available() < 0 {
				t.Fatalf("%d holds placed, carol = %+v; want %d placed", placed.Load(), b, want)
			}
		})
	}
}
