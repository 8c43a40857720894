package cockroach_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// TestSignupFlood opens many accounts at once, as a launch-day sign-up
// flood does. Every opening must succeed, and openings must not conflict
// with each other: they share no row, so a retry is the exception. (When
// each opening first read the accounts' index, a third of them retried.)
func TestSignupFlood(t *testing.T) {
	var retries atomic.Int64
	f := MustOpenStore(t, cockroach.Options{OnRetry: func(int, error) { retries.Add(1) }})
	const workers, each = 16, 100
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("signup-%d-%d", w, i)
				_, err := f.OpenAccount(context.Background(), ledger.OpenAccountRequest{
					RequestID: "open-" + id, AccountID: id, CustomerID: "cust-" + id, Currency: "KRW", Kind: ledger.KindCustomer,
				})
				if err != nil {
					errs <- fmt.Errorf("%s: %w", id, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var n int
	if err := f.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM accounts AS a JOIN balances AS b ON b.account_id = a.account_id
		WHERE a.account_id LIKE 'signup-%'`).Scan(&n); err != nil || n != workers*each {
		t.Fatalf("%d accounts with a balance row (%v), want %d", n, err, workers*each)
	}
	if r := retries.Load(); r > workers*each/10 {
		t.Errorf("%d openings retried %d times: openings conflict with each other", workers*each, r)
	}
	f.AssertBooksBalance(t)
}

// TestOpenAccountRace races openings of one account id under different
// request ids: exactly one opens it, every other is told it exists, and
// replaying the winner's request returns the same account.
func TestOpenAccountRace(t *testing.T) {
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{})
	const racers = 12
	var wg sync.WaitGroup
	accounts := make([]ledger.Account, racers)
	errs := make([]error, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			accounts[i], errs[i] = f.OpenAccount(ctx, ledger.OpenAccountRequest{
				RequestID: fmt.Sprintf("open-eve-%d", i), AccountID: "eve", CustomerID: fmt.Sprintf("cust-%d", i),
				Currency: "KRW", Kind: ledger.KindCustomer,
			})
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("racers %d and %d both opened eve", winner, i)
		case err == nil:
			winner = i
		default:
			AssertCode(t, err, ledger.CodeAccountExists)
		}
	}
	if winner < 0 {
		t.Fatal("no racer opened eve")
	}
	got, err := f.GetAccount(ctx, "eve")
	if err != nil || got.CustomerID != accounts[winner].CustomerID {
		t.Fatalf("eve = %+v (%v), want the winner's %+v", got, err, accounts[winner])
	}
	again, err := f.OpenAccount(ctx, ledger.OpenAccountRequest{
		RequestID: fmt.Sprintf("open-eve-%d", winner), AccountID: "eve", CustomerID: accounts[winner].CustomerID,
		Currency: "KRW", Kind: ledger.KindCustomer,
	})
	if err != nil || again != accounts[winner] {
		t.Fatalf("replay = %+v (%v), want %+v", again, err, accounts[winner])
	}
	f.AssertBooksBalance(t)
}
