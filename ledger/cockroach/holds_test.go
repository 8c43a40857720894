package cockroach_test

import (
	"context"
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
