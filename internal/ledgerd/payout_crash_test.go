package ledgerd_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/corebanking/ledger/internal/pgtest"
	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

const (
	// payoutSubs subscriptions of payoutPrincipal each mature at once.
	payoutSubs      = 10_000
	payoutPrincipal = 100_000_000_000
	payoutPromo     = "special"
	// payoutRoutine accounts take routine transfers throughout.
	payoutRoutine = 8
)

// TestPayoutSurvivesKills matures 10,000 subscriptions at once, with two
// ledgerd on one database, and kills the one whose payer holds the lease
// with SIGKILL while it pays them, twice, restarting it each time. Routine
// transfers go to the other ledgerd throughout. Every subscription must be
// paid exactly once, with the interest its term earned, the books must
// balance, and every routine transfer must succeed.
func TestPayoutSurvivesKills(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ledgerd and pays 10,000 subscriptions")
	}
	bin := buildLedgerd(t)
	url := pgtest.NewDatabase(t)
	db := openPool(t, url)
	seedMatured(t, db)
	procs := []*proc{startLedgerd(t, bin, url), startLedgerd(t, bin, url)}
	r := startRoutine(t, procs[0])

	for kill := range 2 {
		leader := waitPayer(t, db, procs)
		r.switchTo(procs[1-leader])
		before := paidCount(t, db)
		for {
			if n := paidCount(t, db); n > before {
				if n == payoutSubs {
					t.Fatalf("kill %d: everything was paid before the kill", kill+1)
				}
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := procs[leader].kill(t); err != nil {
			t.Fatal(err)
		}
		t.Logf("kill %d: the payer's ledgerd killed with %d of %d paid", kill+1, paidCount(t, db), payoutSubs)
		procs[leader] = startLedgerd(t, bin, url)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for paidCount(t, db) < payoutSubs {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d paid after five minutes", paidCount(t, db), payoutSubs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.stop()

	var entries, requests int
	if err := db.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT request_id) FROM entries WHERE kind = 'PROMO_PAYOUT'`).
		Scan(&entries, &requests); err != nil {
		t.Fatal(err)
	}
	if entries != payoutSubs || requests != payoutSubs {
		t.Errorf("%d payout entries for %d subscriptions, want one each of %d", entries, requests, payoutSubs)
	}
	b := checkBooks(t, db)
	pay := ledger.PayoutFor(payoutPrincipal, 500, 1540, time.Minute)
	for i := range payoutSubs {
		if got := b.balances[saverID(i)]; got != pay.Net() {
			t.Fatalf("%s holds %d, want the principal and %d of interest less %d of tax: %d", saverID(i), got,
				pay.Interest, pay.Tax, pay.Net())
		}
	}
	if ok, failed := r.ok.Load(), r.failed.Load(); failed != 0 || ok == 0 {
		t.Errorf("routine transfers: %d succeeded, %d failed (first error: %v)", ok, failed, r.firstErr.Load())
	} else {
		t.Logf("routine transfers: %d succeeded, none failed", ok)
	}
}

func saverID(i int) string { return fmt.Sprintf("saver-%05d", i) }

// seedMatured migrates the database and, through a store whose clock is two
// minutes behind, opens payoutSubs customers' accounts and subscribes each
// to a promo of a one-minute term: every subscription matured a minute ago.
// It also opens and funds the routine accounts.
func seedMatured(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	ctx := t.Context()
	if err := cockroach.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	then := time.Now().Add(-2 * time.Minute)
	st := cockroach.New(db, cockroach.Options{Now: func() time.Time { return then },
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if _, err := st.CreatePromo(ctx, ledger.CreatePromoRequest{RequestID: "create", PromoID: payoutPromo, Currency: "KRW",
		TotalQuota: payoutSubs * payoutPrincipal, MaxPerCustomer: payoutPrincipal, AnnualRateBps: 500, EarlyRateBps: 100,
		WithholdingBps: 1540, Term: time.Minute, OpensAt: then.Add(-time.Minute), ClosesAt: then.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	open := func(id string, amount int64) error {
		if _, err := st.OpenAccount(ctx, ledger.OpenAccountRequest{RequestID: "open-" + id, AccountID: id,
			CustomerID: "cust-" + id, Currency: "KRW", Kind: ledger.KindCustomer}); err != nil {
			return err
		}
		_, err := st.Deposit(ctx, ledger.DepositRequest{RequestID: "dep-" + id, AccountID: id, Amount: amount, Currency: "KRW"})
		return err
	}
	for i := range payoutRoutine {
		if err := open(fmt.Sprintf("routine-%d", i), 1_000_000_000); err != nil {
			t.Fatal(err)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < payoutSubs && !t.Failed(); i = int(next.Add(1) - 1) {
				id := saverID(i)
				err := open(id, payoutPrincipal)
				if err == nil {
					_, err = st.Subscribe(ctx, ledger.SubscribeRequest{RequestID: "sub-" + id, PromoID: payoutPromo,
						CustomerID: "cust-" + id, FromAccount: id, Amount: payoutPrincipal})
				}
				if err != nil {
					t.Errorf("%s: %v", id, err)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// paidCount is how many of the promo's subscriptions have matured and been paid.
func paidCount(t *testing.T, db *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := db.QueryRow(t.Context(), `SELECT count(*) FROM subscriptions WHERE promo_id = $1 AND status = 'MATURED'`,
		payoutPromo).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitPayer returns the index in procs of the ledgerd whose payer holds
// the payout lease: its holder names the process's pid.
func waitPayer(t *testing.T, db *pgxpool.Pool, procs []*proc) int {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var holder string
		err := db.QueryRow(t.Context(), `SELECT holder FROM payout_lease WHERE expires_at > current_timestamp`).Scan(&holder)
		if err == nil {
			parts := strings.Split(holder, "/")
			pid, _ := strconv.Atoi(parts[len(parts)-2])
			for i, p := range procs {
				if p.cmd.Process.Pid == pid {
					return i
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no ledgerd of the test holds the payout lease after a minute")
	return -1
}

// routine is clients transferring between the routine accounts through
// one ledgerd, target, which the test changes before each kill.
type routine struct {
	mu       sync.RWMutex // held for reading by each call in flight
	target   atomic.Pointer[proc]
	ok       atomic.Int64
	failed   atomic.Int64
	firstErr atomic.Value
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
}

func startRoutine(t *testing.T, s *proc) *routine {
	ctx, cancel := context.WithCancel(context.Background())
	r := &routine{cancel: cancel}
	r.target.Store(s)
	t.Cleanup(r.stop)
	for w := range 4 {
		r.wg.Go(func() {
			for seq := 0; ctx.Err() == nil; seq++ {
				callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
				r.mu.RLock()
				_, err := r.target.Load().pay.Transfer(callCtx, &ledgerv1.TransferRequest{
					RequestId: fmt.Sprintf("routine-%d-%06d", w, seq), Currency: "KRW", Amount: 1,
					FromAccountId: fmt.Sprintf("routine-%d", (w+seq)%payoutRoutine),
					ToAccountId:   fmt.Sprintf("routine-%d", (w+seq+1)%payoutRoutine)})
				r.mu.RUnlock()
				cancel()
				switch {
				case err == nil:
					r.ok.Add(1)
				case ctx.Err() == nil:
					r.failed.Add(1)
					r.firstErr.CompareAndSwap(nil, err.Error())
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	return r
}

// switchTo sends the transfers to s from now on, once those in flight
// elsewhere have been answered.
func (r *routine) switchTo(s *proc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.target.Store(s)
}

func (r *routine) stop() {
	r.stopOnce.Do(func() {
		r.cancel()
		r.wg.Wait()
	})
}
