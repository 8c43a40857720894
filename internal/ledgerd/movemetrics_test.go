package ledgerd_test

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgtest"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// TestMoveMetrics checks that /metrics accounts for every transfer and
// deposit of the routine compartment, batched or alone, and that with
// batching turned off there (routine.move_batch=1) it reports none.
func TestMoveMetrics(t *testing.T) {
	const accounts, each = 8, 10
	for _, batch := range []int{0, 1} {
		t.Run(map[int]string{0: "On", 1: "Off"}[batch], func(t *testing.T) {
			m, c := runWithMoveBatch(t, batch)
			sendMoves(t, c, accounts, each)
			got := scrapeMetrics(t, "http://"+m.Server.AdminAddr()+"/metrics")
			sample := func(key string) float64 {
				v, ok := got[key]
				if !ok {
					t.Errorf("/metrics has no %s", key)
				}
				return v
			}
			batched := sample(`ledger_moves_total{compartment="routine",path="batched"}`)
			alone := sample(`ledger_moves_total{compartment="routine",path="alone"}`)
			batches := sample(`ledger_move_batches_total{compartment="routine"}`)
			want := float64(accounts + accounts*each) // the deposits, then the transfers
			if batch == 1 {
				want = 0
			}
			if batched+alone != want {
				t.Errorf("routine moves: %v batched + %v alone, want %v in all", batched, alone, want)
			}
			if batches*2 > batched {
				t.Errorf("routine: %v batches made only %v moves", batches, batched)
			}
			if st := m.MoveStats("routine"); float64(st.Batched) != batched || float64(st.Alone) != alone {
				t.Errorf("MoveStats says %+v, /metrics %v batched and %v alone", st, batched, alone)
			}
			t.Logf("routine: %v moves batched in %v transactions, %v alone", batched, batches, alone)
		})
	}
}

// runWithMoveBatch runs ledgerd with the routine compartment's move_batch
// set (0: the default).
func runWithMoveBatch(t *testing.T, batch int) (*ledgerd.Main, *client) {
	iso := ledgerd.DefaultIsolation()
	routine := iso.Compartments["routine"]
	routine.MoveBatch = batch
	iso.Compartments["routine"] = routine
	m, err := ledgerd.Run(t.Context(), ledgerd.Config{
		DatabaseURL: pgtest.NewDatabase(t), Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", Plaintext: true,
		Logger:    slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		Isolation: &iso, Sealer: ledgerd.SealerConfig{Off: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, dial(t, m.Server.Addr())
}

// sendMoves opens and funds accounts accounts, then has each pay the next
// one each times, all accounts at once.
func sendMoves(t *testing.T, c *client, accounts, each int) {
	ctx := t.Context()
	for i := range accounts {
		id := fmt.Sprintf("mm-%d", i)
		if _, err := c.acct.OpenAccount(ctx, &ledgerv1.OpenAccountRequest{RequestId: "open-" + id, AccountId: id,
			CustomerId: "c-" + id, Currency: "KRW", Kind: ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.pay.Deposit(ctx, &ledgerv1.DepositRequest{RequestId: "dep-" + id, AccountId: id,
			Amount: 1_000, Currency: "KRW"}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range accounts {
		wg.Go(func() {
			for j := range each {
				if _, err := c.pay.Transfer(ctx, &ledgerv1.TransferRequest{RequestId: fmt.Sprintf("mm-t-%d-%d", i, j),
					FromAccountId: fmt.Sprintf("mm-%d", i), ToAccountId: fmt.Sprintf("mm-%d", (i+1)%accounts),
					Amount: 1, Currency: "KRW"}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}
