package cockroach_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

func TestTransfer(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	f.MustOpen(t, "alice", 10_000)
	f.MustOpen(t, "bob", 0)

	t.Run("OK", func(t *testing.T) {
		e, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: f.rid(), From: "alice", To: "bob", Amount: 2_500, Currency: "KRW", Memo: "rent"})
		if err != nil {
			t.Fatal(err)
		}
		if e.ID == "" || len(e.Postings) != 2 || e.Postings[0].Amount != -2_500 || e.Memo != "rent" {
			t.Fatalf("entry = %+v", e)
		}
		if b := f.MustBalance(t, "alice"); b.Posted != 7_500 || b.Available() != 7_500 {
			t.Fatalf("alice = %+v", b)
		}
		if b := f.MustBalance(t, "bob"); b.Posted != 2_500 {
			t.Fatalf("bob = %+v", b)
		}
	})
	t.Run("ErrInsufficientFunds", func(t *testing.T) {
		_, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: f.rid(), From: "alice", To: "bob", Amount: 7_501, Currency: "KRW"})
		AssertCode(t, err, ledger.CodeInsufficientFunds)
		if b := f.MustBalance(t, "alice"); b.Posted != 7_500 {
			t.Fatalf("a refused transfer moved money: alice = %+v", b)
		}
	})
	t.Run("ErrAccountNotFound", func(t *testing.T) {
		_, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: f.rid(), From: "alice", To: "nobody", Amount: 1, Currency: "KRW"})
		AssertCode(t, err, ledger.CodeAccountNotFound)
	})
	t.Run("ErrCurrencyMismatch", func(t *testing.T) {
		_, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: f.rid(), From: "alice", To: "bob", Amount: 1, Currency: "USD"})
		AssertCode(t, err, ledger.CodeCurrencyMismatch)
	})
	t.Run("ErrInvalidArgument", func(t *testing.T) {
		_, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: f.rid(), From: "alice", To: "alice", Amount: 0, Currency: "KRW"})
		AssertCode(t, err, ledger.CodeInvalidArgument)
		var le *ledger.Error
		if !errors.As(err, &le) || len(le.Fields) != 2 {
			t.Fatalf("want two field violations, got %v", err)
		}
	})
	t.Run("ErrAccountFrozen", func(t *testing.T) {
		f.MustOpen(t, "carol", 100)
		if _, err := f.pool.Exec(ctx, `UPDATE accounts SET status = 'FROZEN' WHERE account_id = 'carol'`); err != nil {
			t.Fatal(err)
		}
		_, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: f.rid(), From: "carol", To: "bob", Amount: 1, Currency: "KRW"})
		AssertCode(t, err, ledger.CodeAccountFrozen)
		_, err = f.Deposit(ctx, ledger.DepositRequest{RequestID: f.rid(), AccountID: "carol", Amount: 1, Currency: "KRW"})
		AssertCode(t, err, ledger.CodeAccountFrozen)
	})
	t.Run("ErrBalanceLimitExceeded", func(t *testing.T) {
		f.MustOpen(t, "rich", ledger.MaxAmount)
		for range 99 {
			if _, err := f.Deposit(ctx, ledger.DepositRequest{RequestID: f.rid(), AccountID: "rich", Amount: ledger.MaxAmount, Currency: "KRW"}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := f.Deposit(ctx, ledger.DepositRequest{RequestID: f.rid(), AccountID: "rich", Amount: 1, Currency: "KRW"})
		AssertCode(t, err, ledger.CodeBalanceLimitExceeded)
	})
	f.AssertBooksBalance(t)
}

func TestWithdraw(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	f.MustOpen(t, "alice", 50_000)
	e, err := f.Withdraw(ctx, ledger.WithdrawRequest{RequestID: f.rid(), AccountID: "alice", Amount: 20_000, Currency: "KRW", ATMID: "atm-1"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Postings[1].AccountID != ledger.ATMAccountID("atm-1", "KRW") {
		t.Fatalf("withdrawal paid from %s", e.Postings[1].AccountID)
	}
	if b := f.MustBalance(t, ledger.ATMAccountID("atm-1", "KRW")); b.Posted != 20_000 {
		t.Fatalf("atm cash account = %+v", b)
	}
	_, err = f.Withdraw(ctx, ledger.WithdrawRequest{RequestID: f.rid(), AccountID: "alice", Amount: 30_001, Currency: "KRW", ATMID: "atm-1"})
	AssertCode(t, err, ledger.CodeInsufficientFunds)
	f.AssertBooksBalance(t)
}

// TestConservation runs concurrent random transfers, deposits and
// withdrawals among many accounts, then checks that nothing was created or
// lost: per currency the balances sum to zero, no customer is below zero,
// and customers hold exactly what the acknowledged operations say.
func TestConservation(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	const accounts, workers, opsPerWorker, start = 40, 16, 60, 10_000
	for i := range accounts {
		f.MustOpen(t, fmt.Sprintf("acct-%02d", i), start)
	}
	var (
		mu       sync.Mutex
		expected = make(map[string]int64) // customer balances from acknowledged operations
		wg       sync.WaitGroup
		refused  int
	)
	for i := range accounts {
		expected[fmt.Sprintf("acct-%02d", i)] = start
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range opsPerWorker {
				a := fmt.Sprintf("acct-%02d", r.IntN(accounts))
				b := fmt.Sprintf("acct-%02d", r.IntN(accounts))
				amt := int64(r.IntN(3_000) + 1)
				rid := fmt.Sprintf("w%d-%d", w, i)
				var err error
				var deltas map[string]int64
				switch {
				case i%10 == 0:
					_, err = f.Deposit(ctx, ledger.DepositRequest{RequestID: rid, AccountID: a, Amount: amt, Currency: "KRW"})
					deltas = map[string]int64{a: amt}
				case i%10 == 1:
					_, err = f.Withdraw(ctx, ledger.WithdrawRequest{RequestID: rid, AccountID: a, Amount: amt, Currency: "KRW", ATMID: fmt.Sprintf("atm-%d", w%3)})
					deltas = map[string]int64{a: -amt}
				case a != b:
					_, err = f.Transfer(ctx, ledger.TransferRequest{RequestID: rid, From: a, To: b, Amount: amt, Currency: "KRW"})
					deltas = map[string]int64{a: -amt, b: amt}
				default:
					continue
				}
				mu.Lock()
				switch ledger.ErrorCode(err) {
				case "":
					for id, d := range deltas {
						expected[id] += d
					}
				case ledger.CodeInsufficientFunds:
					refused++
				default:
					t.Errorf("%s: %v", rid, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for id, want := range expected {
		if b := f.MustBalance(t, id); b.Posted != want {
			t.Errorf("%s = %d, acknowledged operations say %d", id, b.Posted, want)
		}
	}
	f.AssertBooksBalance(t)
	t.Logf("%d operations refused for insufficient funds; %+v", refused, f.MoveStats())
}

// TestOpposingTransfersNeverDeadlock runs transfers A->B and B->A at once.
// A move locks both rows in one UPDATE, which every contender scans in the
// same order, so PostgreSQL never has to break a deadlock (SQLSTATE 40P01,
// which the store would retry, a second later): serialization failures,
// retried at once, are the only conflicts.
func TestOpposingTransfersNeverDeadlock(t *testing.T) {
	ctx := context.Background()
	var deadlocks, conflicts atomic.Int64
	f := MustOpenStore(t, cockroach.Options{OnRetry: func(_ int, err error) {
		var pg *pgconn.PgError
		if errors.As(err, &pg) && pg.Code == pgerrcode.DeadlockDetected {
			deadlocks.Add(1)
		}
		conflicts.Add(1)
	}})
	const start, workers, each = 1_000_000, 8, 40
	f.MustOpen(t, "x", start)
	f.MustOpen(t, "y", start)
	var wg sync.WaitGroup
	for w := range workers {
		from, to := "x", "y"
		if w%2 == 1 {
			from, to = to, from
		}
		wg.Go(func() {
			for i := range each {
				if _, err := f.Transfer(ctx, ledger.TransferRequest{RequestID: fmt.Sprintf("d%d-%d", w, i),
					From: from, To: to, Amount: 1 + int64(w), Currency: "KRW"}); err != nil {
					t.Errorf("%s->%s: %v", from, to, err)
				}
			}
		})
	}
	wg.Wait()
	if n := deadlocks.Load(); n != 0 {
		t.Errorf("PostgreSQL broke %d deadlocks between opposing transfers", n)
	}
	var want int64 // x pays 1+w on even workers and receives 1+w on odd ones
	for w := range workers {
		if w%2 == 1 {
			want += each * int64(1+w)
		} else {
			want -= each * int64(1+w)
		}
	}
	if b := f.MustBalance(t, "x"); b.Posted != start+want {
		t.Errorf("x = %d, want %d", b.Posted, start+want)
	}
	f.AssertBooksBalance(t)
	t.Logf("%d transfers each way, %d conflicts retried, no deadlock", workers/2*each, conflicts.Load())
}

// TestIdempotency sends identical requests concurrently and checks that
// they post once and all get the same answer; a reuse of the request id
// with other content is refused.
func TestIdempotency(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	f.MustOpen(t, "alice", 100_000)
	f.MustOpen(t, "bob", 0)
	const racers = 12

	race := func(t *testing.T, call func() (string, error)) {
		t.Helper()
		ids := make([]string, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Add(1)
			go func() { defer wg.Done(); ids[i], errs[i] = call() }()
		}
		wg.Wait()
		for i := range racers {
			if errs[i] != nil {
				t.Fatalf("racer %d: %v", i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("racer %d got result %s, racer 0 got %s", i, ids[i], ids[0])
			}
		}
	}

	t.Run("Transfer", func(t *testing.T) {
		req := ledger.TransferRequest{RequestID: "same-transfer", From: "alice", To: "bob", Amount: 1_000, Currency: "KRW"}
		race(t, func() (string, error) { e, err := f.Transfer(ctx, req); return e.ID, err })
		if b := f.MustBalance(t, "bob"); b.Posted != 1_000 {
			t.Fatalf("bob = %d after %d identical transfers of 1000, want 1000", b.Posted, racers)
		}
		req.Amount = 2_000
		_, err := f.Transfer(ctx, req)
		AssertCode(t, err, ledger.CodeIdempotencyConflict)
	})
	t.Run("Deposit", func(t *testing.T) {
		req := ledger.DepositRequest{RequestID: "same-deposit", AccountID: "bob", Amount: 500, Currency: "KRW"}
		race(t, func() (string, error) { e, err := f.Deposit(ctx, req); return e.ID, err })
		if b := f.MustBalance(t, "bob"); b.Posted != 1_500 {
			t.Fatalf("bob = %d, want 1500", b.Posted)
		}
	})
	t.Run("OpenAccount", func(t *testing.T) {
		req := ledger.OpenAccountRequest{RequestID: "same-open", CustomerID: "dave", Currency: "KRW", Kind: ledger.KindCustomer}
		race(t, func() (string, error) { a, err := f.OpenAccount(ctx, req); return a.ID, err })
		var n int
		if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM accounts WHERE customer_id = 'dave'`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("dave has %d accounts (%v), want 1", n, err)
		}
		_, err := f.OpenAccount(ctx, ledger.OpenAccountRequest{RequestID: f.rid(), AccountID: "alice", CustomerID: "x", Currency: "KRW", Kind: ledger.KindCustomer})
		AssertCode(t, err, ledger.CodeAccountExists)
	})
	t.Run("PlaceHold", func(t *testing.T) {
		req := ledger.PlaceHoldRequest{RequestID: "same-hold", AccountID: "alice", Amount: 700, Currency: "KRW"}
		race(t, func() (string, error) { h, err := f.PlaceHold(ctx, req); return h.ID, err })
		if b := f.MustBalance(t, "alice"); b.Held != 700 {
			t.Fatalf("alice held = %d, want 700", b.Held)
		}
	})
	t.Run("ReplayKeepsOriginalResult", func(t *testing.T) {
		req := ledger.TransferRequest{RequestID: "replay-later", From: "alice", To: "bob", Amount: 10, Currency: "KRW"}
		first, err := f.Transfer(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(3600e9)
		again, err := f.Transfer(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if again.ID != first.ID || !again.PostedAt.Equal(first.PostedAt) || again.Postings[1].Amount != 10 {
			t.Fatalf("replay = %+v, original = %+v", again, first)
		}
	})
	f.AssertBooksBalance(t)
}
