package ledgerd_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/corebanking/ledger/internal/pgtest"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

const (
	crashCurrency = "KRW"
	// crashOpening is each account's deposit: far more than the load can
	// take out of it, so no payment is refused for want of funds.
	crashOpening = 1_000_000
	crashAccts   = 20
	crashWorkers = 16
	// crashAcks is how many acknowledged payments to wait for before the kill.
	crashAcks = 200
)

// TestCrashRecovery kills ledgerd with SIGKILL while clients are paying,
// restarts it on the same database, and checks that every acknowledged
// payment is in the books exactly once with the entry id its client was
// given; that replaying it returns that entry and posts nothing; that each
// payment whose outcome the crash hid is, after its replay, posted exactly
// once (or refused and absent); and that nothing is half-applied.
func TestCrashRecovery(t *testing.T) {
	bin := buildLedgerd(t)
	dbURL := pgtest.NewDatabase(t)
	db := openPool(t, dbURL)
	srv := startLedgerd(t, bin, dbURL)
	accts := openAccounts(t, srv)

	l := startLoad(t, srv, accts)
	l.waitAcks(t, srv, crashAcks, 2*time.Minute)
	l.killed.Store(true)
	if err := srv.kill(t); err != nil {
		t.Fatalf("kill -9 ledgerd: %v (%s)", err, srv.cmd.ProcessState)
	}
	l.stop()
	if len(l.acked) == 0 {
		t.Fatal("no payment was acknowledged before the kill")
	}
	waitDisconnected(t, db)
	crashed := checkBooks(t, db) // as the crash left them, before a restart touches them
	assertEntries(t, "after the crash", crashed, l.acked, l.refused)

	srv = startLedgerd(t, bin, dbURL)
	replayAcked(t, srv, db, l.acked, crashed)
	applied, refused := resolveUnknown(t, srv, l, crashed)

	final := checkBooks(t, db)
	assertEntries(t, "after the replays", final, applied, refused)
	if want := crashAccts + len(applied); final.count != want {
		t.Errorf("%d entries, want %d: %d deposits and %d payments", final.count, want, crashAccts, len(applied))
	}
	assertBalances(t, srv, final, accts, applied)
}

// replayAcked replays each acknowledged payment, as a client that missed
// the answer would, and checks that it returns the acknowledged entry and
// leaves the books as they were.
func replayAcked(t *testing.T, s *proc, db *pgxpool.Pool, acked []posted, before books) {
	t.Helper()
	for _, p := range acked {
		id, err := s.replay(t, p.op)
		if err != nil {
			t.Fatalf("replay of acknowledged %s: %v", p.id, err)
		}
		if id != p.entryID {
			t.Errorf("replay of acknowledged %s returned entry %s, want %s", p.id, id, p.entryID)
		}
	}
	if after := checkBooks(t, db); after.count != before.count || !maps.Equal(after.balances, before.balances) {
		t.Errorf("replaying acknowledged payments changed the books: %d entries, balances %v; before %d, %v",
			after.count, after.balances, before.count, before.balances)
	}
}

// resolveUnknown replays each payment whose outcome the crash hid. One the
// crashed server had committed must return its committed entry; any other
// is posted now or refused. It returns every payment applied (the
// acknowledged ones and these) and every payment refused.
func resolveUnknown(t *testing.T, s *proc, l *load, crashed books) (applied []posted, refused []op) {
	t.Helper()
	applied, refused = slices.Clone(l.acked), slices.Clone(l.refused)
	var committed, postedNow, refusedNow int
	for _, o := range l.unknown {
		id, err := s.replay(t, o)
		before := crashed.entries[o.id]
		switch {
		case err == nil && len(before) == 0:
			postedNow++
			applied = append(applied, posted{o, id})
		case err == nil:
			committed++
			if before[0] != id {
				t.Errorf("replay of %s returned entry %s, but %s was committed before the crash", o.id, id, before[0])
			}
			applied = append(applied, posted{o, id})
		case isRefusal(err):
			refusedNow++
			refused = append(refused, o)
		default:
			t.Fatalf("replay of %s after the restart: %v", o.id, err)
		}
	}
	t.Logf("%d payments acknowledged (%d refused); of the %d whose outcome was not known, "+
		"%d had been committed, %d were posted by their replay, %d refused",
		len(l.acked), len(l.refused), len(l.unknown), committed, postedNow, refusedNow)
	return applied, refused
}

// op is one payment of the load: a withdrawal at atm when atm is set,
// otherwise a transfer to to.
type op struct {
	id       string
	from, to string
	atm      string
	amount   int64
}

// posted is a payment the ledger answered with an entry.
type posted struct {
	op
	entryID string
}

// send makes the payment and returns the id of its entry.
func (o op) send(ctx context.Context, pay ledgerv1.PaymentServiceClient) (string, error) {
	if o.atm != "" {
		res, err := pay.Withdraw(ctx, &ledgerv1.WithdrawRequest{
			RequestId: o.id, AccountId: o.from, Amount: o.amount, Currency: crashCurrency, AtmId: o.atm})
		return res.GetEntry().GetEntryId(), err
	}
	res, err := pay.Transfer(ctx, &ledgerv1.TransferRequest{
		RequestId: o.id, FromAccountId: o.from, ToAccountId: o.to, Amount: o.amount, Currency: crashCurrency})
	return res.GetEntry().GetEntryId(), err
}

// randomOp returns a small payment between two of accts, or out of one of
// them at an ATM one time in eight.
func randomOp(id string, accts []string) op {
	i := rand.IntN(len(accts))
	o := op{id: id, from: accts[i], amount: 1 + rand.Int64N(1_000)}
	if rand.IntN(8) == 0 {
		o.atm = fmt.Sprintf("atm-%d", rand.IntN(3))
		return o
	}
	j := rand.IntN(len(accts) - 1)
	if j >= i {
		j++
	}
	o.to = accts[j]
	return o
}

// isRefusal reports whether err is the ledger's answer that it posted nothing.
func isRefusal(err error) bool {
	switch status.Code(err) {
	case codes.FailedPrecondition, codes.InvalidArgument, codes.NotFound:
		return true
	}
	return false
}

// replay sends o again, as a client does when it never heard back, until
// the ledger answers or two minutes have passed.
func (s *proc) replay(t *testing.T, o op) (string, error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		id, err := o.send(ctx, s.pay)
		cancel()
		if !retryable(err) || time.Now().After(deadline) {
			return id, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// retryable reports whether err leaves the payment's outcome unknown but
// a later try may get an answer: the server, or a bulkhead in it, is busy,
// its breaker open, or it was not there.
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return true
	}
	return false
}

// load is clients paying concurrently, and what each payment came to.
type load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	acks   atomic.Int64
	// killed tells each client to stop at its first failure: the server is
	// gone, and a client that kept trying would only pile up unknowns.
	killed atomic.Bool

	mu      sync.Mutex
	acked   []posted
	unknown []op // no answer from the ledger: the crash hid whether it posted
	refused []op // refused by the ledger: nothing posted
}

// startLoad starts crashWorkers clients paying between accts until stop.
func startLoad(t *testing.T, s *proc, accts []string) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel}
	t.Cleanup(l.stop)
	for w := range crashWorkers {
		l.wg.Go(func() {
			for seq := 0; ctx.Err() == nil; seq++ {
				o := randomOp(fmt.Sprintf("pay-%02d-%06d", w, seq), accts)
				callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
				id, err := o.send(callCtx, s.pay)
				cancel()
				if l.record(o, id, err) {
					continue
				}
				if l.killed.Load() {
					return
				}
				select { // back off, as a client would from a busy server
				case <-ctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
	}
	return l
}

// record files o under what its call returned, and reports whether the
// ledger answered at all.
func (l *load) record(o op, entryID string, err error) (answered bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		l.acked = append(l.acked, posted{o, entryID})
		l.acks.Add(1)
	case isRefusal(err):
		l.refused = append(l.refused, o)
	default:
		l.unknown = append(l.unknown, o)
		return false
	}
	return true
}

// waitAcks waits until n payments have been acknowledged, or limit has
// passed, with the load still running.
func (l *load) waitAcks(t *testing.T, s *proc, n int64, limit time.Duration) {
	t.Helper()
	timeout := time.After(limit)
	for l.acks.Load() < n {
		select {
		case <-s.exited:
			t.Fatalf("ledgerd exited under load: %s", s.cmd.ProcessState)
		case <-timeout:
			t.Logf("only %d payments acknowledged after %v; killing ledgerd anyway", l.acks.Load(), limit)
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// stop ends the load and waits for its clients; after it the results are
// safe to read.
func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}

// openAccounts opens crashAccts customer accounts holding crashOpening each.
func openAccounts(t *testing.T, s *proc) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var accts []string
	for i := range crashAccts {
		id := fmt.Sprintf("crash-%02d", i)
		if _, err := s.acct.OpenAccount(ctx, &ledgerv1.OpenAccountRequest{RequestId: "open-" + id, AccountId: id,
			CustomerId: "cust-" + id, Currency: crashCurrency, Kind: ledgerv1.AccountKind_ACCOUNT_KIND_CUSTOMER}); err != nil {
			t.Fatalf("open %s: %v", id, err)
		}
		if _, err := s.pay.Deposit(ctx, &ledgerv1.DepositRequest{RequestId: "deposit-" + id, AccountId: id,
			Amount: crashOpening, Currency: crashCurrency}); err != nil {
			t.Fatalf("deposit into %s: %v", id, err)
		}
		accts = append(accts, id)
	}
	return accts
}

// testAppName marks the test's own sessions in pg_stat_activity.
const testAppName = "crash-test"

// openPool connects the test itself to the database, to read the books.
func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = testAppName
	db, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// waitDisconnected waits until the database has ended every session but
// the test's own, those of the killed ledgerd, so that none of its
// transactions can still commit while the test reads the books.
func waitDisconnected(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		err := db.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND backend_type = 'client backend' AND application_name <> $1`, testAppName).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions of the killed ledgerd still open after a minute", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// books is the ledger as the database holds it, read in one snapshot.
type books struct {
	entries  map[string][]string // money entries' ids by request id
	count    int                 // money entries in all
	balances map[string]int64    // posted balance by account
}

// eventKinds are the entries that record an event without moving money
// (an account opened, a hold placed or voided): they have no postings.
const eventKinds = `('ACCOUNT_OPENING', 'HOLD_PLACEMENT', 'HOLD_VOID')`

// postingsByEntry counts each entry's postings and lists their accounts
// in the order entries.accounts keeps them.
const postingsByEntry = `(SELECT entry_id, count(*) AS n, array_agg(account_id ORDER BY account_id) AS accounts
	FROM postings GROUP BY entry_id)`

// bookChecks each count what a half-applied payment would leave behind.
var bookChecks = []struct{ what, sql string }{
	{"money entries with fewer than two postings", `SELECT count(*) FROM entries AS e
		LEFT JOIN ` + postingsByEntry + ` AS p ON p.entry_id = e.entry_id
		WHERE e.kind NOT IN ` + eventKinds + ` AND COALESCE(p.n, 0) < 2`},
	{"event entries with postings", `SELECT count(*) FROM entries AS e
		JOIN ` + postingsByEntry + ` AS p ON p.entry_id = e.entry_id WHERE e.kind IN ` + eventKinds},
	{"entries that do not list their postings' accounts", `SELECT count(*) FROM entries AS e
		LEFT JOIN ` + postingsByEntry + ` AS p ON p.entry_id = e.entry_id
		WHERE e.accounts <> COALESCE(p.accounts, CAST('{}' AS TEXT[]))`},
	{"entries whose postings do not sum to zero", `SELECT count(*) FROM
		(SELECT entry_id FROM postings GROUP BY entry_id HAVING sum(amount) <> 0) AS x`},
	{"postings without their entry", `SELECT count(*) FROM postings AS p
		WHERE NOT EXISTS (SELECT 1 FROM entries AS e WHERE e.entry_id = p.entry_id)`},
	{"request ids with more than one entry", `SELECT count(*) FROM
		(SELECT request_id FROM entries GROUP BY request_id HAVING count(*) > 1) AS x`},
	{"currencies whose balances do not sum to zero", `SELECT count(*) FROM
		(SELECT a.currency FROM balances AS b JOIN accounts AS a ON a.account_id = b.account_id
		GROUP BY a.currency HAVING sum(b.posted) <> 0) AS x`},
	{"accounts whose balance differs from the sum of their postings", `SELECT count(*) FROM
		(SELECT account_id, sum(posted) AS total FROM balances GROUP BY account_id) AS b
		FULL JOIN (SELECT account_id, sum(amount) AS total FROM postings GROUP BY account_id) AS p
		ON p.account_id = b.account_id WHERE COALESCE(b.total, 0) <> COALESCE(p.total, 0)`},
	{"customer accounts below zero", `SELECT count(*) FROM
		(SELECT b.account_id FROM balances AS b JOIN accounts AS a ON a.account_id = b.account_id
		WHERE a.kind = 'CUSTOMER' GROUP BY b.account_id HAVING sum(b.posted) < 0) AS x`},
}

// checkBooks fails t if anything in the database is half-applied, and
// returns the books.
func checkBooks(t *testing.T, db *pgxpool.Pool) books {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	b := books{entries: map[string][]string{}, balances: map[string]int64{}}
	snapshot := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err := pgx.BeginTxFunc(ctx, db, snapshot, func(tx pgx.Tx) error {
		for _, c := range bookChecks {
			var n int
			if err := tx.QueryRow(ctx, c.sql).Scan(&n); err != nil {
				return fmt.Errorf("%s: %w", c.what, err)
			}
			if n != 0 {
				t.Errorf("%d %s", n, c.what)
			}
		}
		var req, entry, acct string
		var bal int64
		rows, _ := tx.Query(ctx, `SELECT request_id, CAST(entry_id AS TEXT) FROM entries WHERE kind NOT IN `+eventKinds)
		if _, err := pgx.ForEachRow(rows, []any{&req, &entry}, func() error {
			b.entries[req] = append(b.entries[req], entry)
			b.count++
			return nil
		}); err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, `SELECT account_id, CAST(sum(posted) AS INT8) FROM balances GROUP BY account_id`)
		_, err := pgx.ForEachRow(rows, []any{&acct, &bal}, func() error {
			b.balances[acct] = bal
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatalf("read the books: %v", err)
	}
	return b
}

// assertEntries checks that each applied payment has exactly its one entry
// and each refused payment none.
func assertEntries(t *testing.T, when string, b books, applied []posted, refused []op) {
	t.Helper()
	for _, p := range applied {
		if got := b.entries[p.id]; len(got) != 1 || got[0] != p.entryID {
			t.Errorf("%s: %s has entries %v, want exactly [%s]", when, p.id, got, p.entryID)
		}
	}
	for _, o := range refused {
		if got := b.entries[o.id]; len(got) != 0 {
			t.Errorf("%s: refused %s has entries %v", when, o.id, got)
		}
	}
}

// assertBalances checks that each account holds its deposit plus the
// payments applied, in the database and as the restarted server reports.
func assertBalances(t *testing.T, s *proc, b books, accts []string, applied []posted) {
	t.Helper()
	want := map[string]int64{}
	for _, a := range accts {
		want[a] = crashOpening
	}
	for _, p := range applied {
		want[p.from] -= p.amount
		if p.to != "" {
			want[p.to] += p.amount
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for _, a := range accts {
		res, err := s.acct.GetBalance(ctx, &ledgerv1.GetBalanceRequest{AccountId: a})
		if err != nil {
			t.Fatalf("balance of %s: %v", a, err)
		}
		if got := res.GetBalance().GetPosted(); got != want[a] || b.balances[a] != want[a] {
			t.Errorf("%s: server says %d, database %d; want %d", a, got, b.balances[a], want[a])
		}
	}
}
