package ledgerd_test

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/corebanking/ledger/internal/ledgerd"
	"github.com/corebanking/ledger/internal/pgtest"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// TestTwoSealersNeverFork runs ledgerd replicas on one database, each with
// its own sealer, while clients pay through them; replicas stop and start
// so that the lease changes hands. The journal must hold every entry once,
// at sequences 1..N, verify, and show that the sealers took turns: lease
// epochs never go back along the sequence and each belongs to one sealer.
func TestTwoSealersNeverFork(t *testing.T) {
	ctx := t.Context()
	url := pgtest.NewDatabase(t)
	db := openPool(t, url)
	start := func(holder string) (*ledgerd.Main, *client) {
		t.Helper()
		m, err := ledgerd.Run(ctx, ledgerd.Config{
			DatabaseURL: url, Listen: "127.0.0.1:0", AdminListen: "-", Plaintext: true,
			Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
			Sealer: ledgerd.SealerConfig{Holder: holder, Interval: 2 * time.Millisecond, LeaseTTL: 500 * time.Millisecond},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m, dial(t, m.Server.Addr())
	}
	a, ca := start("a")
	_, cb := start("b")
	const accounts = 6
	for i := range accounts {
		id := fmt.Sprintf("acct-%d", i)
		if _, err := ca.acct.OpenAccount(ctx, &ledgerv1.OpenAccountRequest{RequestId: "open-" + id, AccountId: id,
			CustomerId: "c-" + id, Currency: "KRW", Kind: ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER}); err != nil {
			t.Fatal(err)
		}
		if _, err := cb.pay.Deposit(ctx, &ledgerv1.DepositRequest{RequestId: "dep-" + id, AccountId: id, Amount: 1_000_000, Currency: "KRW"}); err != nil {
			t.Fatal(err)
		}
	}
	pay := func(phase string, clients ...*client) {
		t.Helper()
		var wg sync.WaitGroup
		for w, c := range append(clients, clients...) {
			wg.Go(func() {
				for i := range 25 {
					_, err := c.pay.Transfer(ctx, &ledgerv1.TransferRequest{RequestId: fmt.Sprintf("%s-%d-%d", phase, w, i),
						FromAccountId: fmt.Sprintf("acct-%d", (w+i)%accounts), ToAccountId: fmt.Sprintf("acct-%d", (w+i+1)%accounts),
						Amount: 10, Currency: "KRW"})
					if err != nil {
						t.Errorf("%s: transfer: %v", phase, err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	pay("ab", ca, cb)
	a.Close() // gives its lease up, if it held it
	_, cc := start("c")
	pay("bc", cb, cc)
	entries := waitSealed(t, db)

	var n, distinct, lo, hi int64
	if err := db.QueryRow(ctx, `SELECT count(*), count(DISTINCT entry_id), min(sequence), max(sequence) FROM journal`).
		Scan(&n, &distinct, &lo, &hi); err != nil {
		t.Fatal(err)
	}
	if n != entries || distinct != n || lo != 1 || hi != n {
		t.Errorf("%d records of %d distinct entries at %d..%d, want %d records at 1..%[4]d", n, distinct, lo, hi, entries)
	}
	v, err := cc.audit.VerifyJournal(ctx, &ledgerv1.VerifyJournalRequest{})
	if err != nil || !v.GetOk() || v.GetRecordsChecked() != entries {
		t.Errorf("VerifyJournal = %v, %v", v, err)
	}
	assertVerifiedApart(t, cc)
	assertTurns(t, db)
}

// assertVerifiedApart checks that VerifyJournal ran in the verify
// compartment, on its own connection, and no audit read did.
func assertVerifiedApart(t *testing.T, c *client) {
	t.Helper()
	list, err := c.admin.ListCompartments(t.Context(), &ledgerv1.ListCompartmentsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	admitted := map[string]uint64{}
	for _, k := range list.GetCompartments() {
		admitted[k.GetName()] = k.GetAdmitted()
		if k.GetName() == "verify" && k.GetPoolMaxConns() != 1 {
			t.Errorf("the verify compartment has a pool of %d connections, want 1", k.GetPoolMaxConns())
		}
	}
	if admitted["verify"] != 1 || admitted["audit"] != 0 {
		t.Errorf("calls admitted: verify %d, audit %d; want VerifyJournal's one in verify", admitted["verify"], admitted["audit"])
	}
}

// assertTurns checks that lease epochs never decrease along the sequence,
// that each epoch was one sealer's, and that the lease changed hands.
func assertTurns(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	rows, err := db.Query(t.Context(), `SELECT sequence, sealed_by, lease_epoch FROM journal ORDER BY sequence`)
	if err != nil {
		t.Fatal(err)
	}
	holders := map[int64]string{}
	var last, seq, epoch int64
	var by string
	for rows.Next() {
		if err := rows.Scan(&seq, &by, &epoch); err != nil {
			t.Fatal(err)
		}
		if epoch < last {
			t.Fatalf("record %d sealed in epoch %d after epoch %d", seq, epoch, last)
		}
		if h, ok := holders[epoch]; ok && h != by {
			t.Fatalf("epoch %d sealed by both %s and %s", epoch, h, by)
		}
		holders[epoch], last = by, epoch
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(holders) < 2 {
		t.Errorf("the lease never changed hands: epochs %v", holders)
	}
	t.Logf("sealers by lease epoch: %v", holders)
}

// waitSealed waits until every entry is in the journal and returns how many.
func waitSealed(t *testing.T, db *pgxpool.Pool) int64 {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var entries, pending int64
		if err := db.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM entries), (SELECT count(*) FROM journal_pending)`).
			Scan(&entries, &pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			return entries
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d entries still unsealed after two minutes", pending, entries)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// client is a connection to one ledgerd.
type client struct {
	acct  ledgerv1.AccountServiceClient
	pay   ledgerv1.PaymentServiceClient
	audit ledgerv1.AuditServiceClient
	promo ledgerv1.PromoServiceClient
	admin ledgerv1.AdminServiceClient
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &client{ledgerv1.NewAccountServiceClient(conn), ledgerv1.NewPaymentServiceClient(conn), ledgerv1.NewAuditServiceClient(conn),
		ledgerv1.NewPromoServiceClient(conn), ledgerv1.NewAdminServiceClient(conn)}
}
