package cockroach_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/corebanking/ledger/ledger"
	"github.com/corebanking/ledger/ledger/cockroach"
)

// TestPostingRulesAgree generates random batches of entries (2 to 16
// postings each, on customer and internal accounts, sharded and not, with
// balances near zero and near the balance limit, frozen and closed
// accounts, accounts and shard rows that do not exist, currencies that do
// not match, holds, debits of internal accounts allowed or not, reversals
// of entries reversed already, atomic batches and independent ones), posts
// each batch with the posting statement, and holds the statement's verdict
// on every entry to the verdict of ledger.CheckProposals on a model of the
// books kept by the test. The model, changed only by the entries the
// statement posted, must also match what the statement read and, at the
// end, every balance in the database.
//
// LEDGER_PROPERTY_ENTRIES sets how many entries (100,000 by default;
// 10,000 with -short); LEDGER_PROPERTY_SEED replays a run.
func TestPostingRulesAgree(t *testing.T) {
	total := 100_000
	if testing.Short() {
		total = 10_000
	}
	if v, err := strconv.Atoi(os.Getenv("LEDGER_PROPERTY_ENTRIES")); err == nil {
		total = v
	}
	seed := rand.Uint64()
	if v, err := strconv.ParseUint(os.Getenv("LEDGER_PROPERTY_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (LEDGER_PROPERTY_SEED replays it)", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	ctx := context.Background()
	f := MustOpenStore(t, cockroach.Options{VaultShards: 4})
	m := newBooksModel(t, f, rng)

	var posted, refused, atomicBatches int
	for done := 0; done < total; {
		if rng.IntN(40) == 0 {
			m.toggleStatus(t, ctx, rng)
		}
		atomic := rng.IntN(5) == 0
		batch := m.batch(rng, 1+rng.IntN(40))
		results, err := f.PostRaw(ctx, batch, atomic)
		if err != nil {
			t.Fatalf("batch %d: %v", done, err)
		}
		proposals := make([]ledger.Proposal, len(batch))
		for i, e := range batch {
			proposals[i] = m.proposal(e)
		}
		verdicts := ledger.CheckProposals(proposals, atomic)
		for i, r := range results {
			if r.Posted != (verdicts[i] == nil) {
				t.Fatalf("entry %d of a batch of %d (atomic %v): the statement posted it: %v; the rules say %v\n%s",
					i, len(batch), atomic, r.Posted, verdicts[i], describe(batch[i], proposals[i]))
			}
			m.checkRead(t, proposals[i], r)
		}
		for i, r := range results {
			if r.Posted {
				m.apply(batch[i])
				posted++
			} else {
				refused++
			}
		}
		if atomic {
			atomicBatches++
		}
		done += len(batch)
	}
	m.checkBalances(t, ctx)
	f.AssertBooksBalance(t)
	t.Logf("%d entries posted, %d refused, %d atomic batches", posted, refused, atomicBatches)
	if posted == 0 || refused == 0 {
		t.Errorf("%d posted and %d refused: the generator does not reach both verdicts", posted, refused)
	}
}

// booksModel is the test's own account of the books: what each account is
// and what each balance row holds.
type booksModel struct {
	f        *fixture
	accounts map[string]*modelAccount
	ids      []string // every account, and ids of none
	entries  []string // posted entries that may be reversed
	reversed map[string]bool
	seq      int
}

type modelAccount struct {
	ledger.Account
	rows  []int64
	holds map[string]int64 // active holds by id
}

// newBooksModel opens the accounts and writes their opening balances and
// holds with SQL, as one entry whose postings match them.
func newBooksModel(tb testing.TB, f *fixture, rng *rand.Rand) *booksModel {
	tb.Helper()
	m := &booksModel{f: f, accounts: map[string]*modelAccount{}, reversed: map[string]bool{}}
	add := func(id, currency string, kind ledger.Kind, status ledger.Status, rows ...int64) {
		m.accounts[id] = &modelAccount{Account: ledger.Account{ID: id, CustomerID: "c-" + id, Currency: currency,
			Kind: kind, Status: status, Shards: len(rows)}, rows: rows, holds: map[string]int64{}}
	}
	small := func() int64 { return int64(rng.IntN(121)) }
	for i := range 10 {
		add(fmt.Sprintf("c%d", i), "KRW", ledger.KindCustomer, ledger.StatusActive, small())
	}
	add("frozen", "KRW", ledger.KindCustomer, ledger.StatusFrozen, small())
	add("closed", "KRW", ledger.KindCustomer, ledger.StatusClosed, 0)
	add("u0", "USD", ledger.KindCustomer, ledger.StatusActive, small())
	add("u1", "USD", ledger.KindCustomer, ledger.StatusActive, small())
	add("i0", "KRW", ledger.KindInternal, ledger.StatusActive, small()-60, small()-60, small()-60, small()-60)
	add("i1", "KRW", ledger.KindInternal, ledger.StatusActive, small()-60, small()-60)
	add("high", "KRW", ledger.KindInternal, ledger.StatusActive, ledger.MaxBalance-40)
	add("low", "KRW", ledger.KindInternal, ledger.StatusActive, -ledger.MaxBalance+40)
	add("iu", "USD", ledger.KindInternal, ledger.StatusActive, small()-60, small()-60)
	// Each currency's balances sum to zero, as the ledger's always do.
	for _, cur := range []string{"KRW", "USD"} {
		var sum int64
		for _, a := range m.accounts {
			if a.Currency == cur {
				for _, r := range a.rows {
					sum += r
				}
			}
		}
		add("eq-"+cur, cur, ledger.KindInternal, ledger.StatusActive, -sum)
	}
	m.accounts["c1"].holds["00000000-0000-0000-0000-0000000000c1"] = 10
	m.accounts["c2"].holds["00000000-0000-0000-0000-0000000000c2"] = 5
	m.accounts["c2"].holds["00000000-0000-0000-0000-0000000000c3"] = 7
	for id := range m.accounts {
		m.ids = append(m.ids, id)
	}
	m.ids = append(m.ids, "ghost", "sys:vault:KRW")

	var stmts []string
	var postings, accounts []string
	for id, a := range m.accounts {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO accounts (account_id, customer_id, currency, kind, status, shards,
			created_at) VALUES ('%s', '%s', '%s', '%s', '%s', %d, now())`, id, a.CustomerID, a.Currency, a.Kind, a.Status,
			a.Shards))
		var sum int64
		for s, r := range a.rows {
			until := "TIMESTAMPTZ '1970-01-01 00:00:00+00'"
			if len(a.holds) > 0 {
				until = "now() + INTERVAL '10 days'"
			}
			stmts = append(stmts, fmt.Sprintf(`INSERT INTO balances (account_id, shard, posted, holds_until)
				VALUES ('%s', %d, %d, %s)`, id, s, r, until))
			sum += r
		}
		for h, amount := range a.holds {
			stmts = append(stmts, fmt.Sprintf(`INSERT INTO holds (hold_id, account_id, currency, amount, captured_amount,
				status, atm_id, request_id, created_at, expires_at) VALUES ('%s', '%s', '%s', %d, 0, 'ACTIVE', '', '%s',
				now(), now() + INTERVAL '10 days')`, h, id, a.Currency, amount, h))
		}
		if sum != 0 {
			postings = append(postings, fmt.Sprintf("('%s', '%s', %d)", id, a.Currency, sum))
			accounts = append(accounts, "'"+id+"'")
		}
	}
	const opening = "00000000-0000-0000-0000-0000000000ff"
	stmts = append(stmts,
		`INSERT INTO entries (entry_id, kind, actor, request_id, memo, posted_at, accounts)
			SELECT '`+opening+`', 'GENERAL', 'system', 'opening', '', TIMESTAMPTZ '2026-01-01 00:00:00Z',
				ARRAY(SELECT a FROM unnest(ARRAY[`+strings.Join(accounts, ", ")+`]) AS a ORDER BY a)`,
		`INSERT INTO postings (entry_id, account_id, currency, amount, balance_after, posted_at)
			SELECT '`+opening+`', a, c, n, 0, TIMESTAMPTZ '2026-01-01 00:00:00Z'
			FROM (VALUES `+strings.Join(postings, ", ")+`) AS v (a, c, n)`)
	for _, s := range stmts {
		if _, err := f.pool.Exec(context.Background(), s); err != nil {
			tb.Fatalf("%s: %v", s, err)
		}
	}
	return m
}

// batch returns n random entries.
func (m *booksModel) batch(rng *rand.Rand, n int) []cockroach.RawEntry {
	out := make([]cockroach.RawEntry, 0, n)
	targets := map[string]bool{} // a batch reverses an entry at most once
	for range n {
		e := m.entry(rng)
		if len(m.entries) > 0 && rng.IntN(10) == 0 {
			if target := m.entries[rng.IntN(len(m.entries))]; !targets[target] {
				targets[target] = true
				e.Entry.ReversesEntryID = target
			}
		}
		out = append(out, e)
	}
	return out
}

// entry returns a random entry that sums to zero in its currency.
func (m *booksModel) entry(rng *rand.Rand) cockroach.RawEntry {
	cur := "KRW"
	if rng.IntN(6) == 0 {
		cur = "USD"
	}
	// Accounts of the currency that take postings, and now and then one
	// that does not: missing, frozen or closed, or of another currency.
	var pool, odd []string
	for _, id := range m.ids {
		if a, ok := m.accounts[id]; ok && a.Currency == cur && a.Status == ledger.StatusActive {
			pool = append(pool, id)
		} else {
			odd = append(odd, id)
		}
	}
	rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	n := 2 + rng.IntN(3)
	if rng.IntN(4) == 0 {
		n = 2 + rng.IntN(15)
	}
	n = min(n, len(pool))
	pool = pool[:n]
	if rng.IntN(12) == 0 {
		pool[rng.IntN(n)] = odd[rng.IntN(len(odd))]
	}
	m.seq++
	r := cockroach.RawEntry{Entry: ledger.Entry{Kind: ledger.EntryGeneral, RequestID: fmt.Sprintf("p-%d", m.seq)}}
	var sum int64
	for i, id := range pool {
		amount := int64(1 + rng.IntN(30))
		if rng.IntN(2) == 0 {
			amount = -amount
		}
		if i == n-1 {
			amount = -sum
			if amount == 0 { // keep every posting non-zero: move the first one further from zero
				step := int64(1)
				if r.Entry.Postings[0].Amount < 0 {
					step = -1
				}
				r.Entry.Postings[0].Amount += step
				amount = -step
			}
		}
		sum += amount
		shard := 0
		if a, ok := m.accounts[id]; ok {
			shard = rng.IntN(a.Shards)
			if rng.IntN(200) == 0 {
				shard = a.Shards // a row the account does not have
			}
		}
		r.Entry.Postings = append(r.Entry.Postings, ledger.Posting{AccountID: id, Currency: cur, Amount: amount})
		r.Shards = append(r.Shards, shard)
		r.MayDebitInternal = append(r.MayDebitInternal, rng.IntN(8) != 0)
	}
	for _, p := range r.Entry.Postings {
		if a, ok := m.accounts[p.AccountID]; ok && p.Amount < 0 && len(a.holds) > 0 && rng.IntN(3) == 0 {
			for h := range a.holds {
				r.ExcludeHold = h
				break
			}
		}
	}
	return r
}

// proposal is the model's view of e: each leg as the books stand.
func (m *booksModel) proposal(e cockroach.RawEntry) ledger.Proposal {
	p := ledger.Proposal{AlreadyReversed: e.Entry.ReversesEntryID != "" && m.reversed[e.Entry.ReversesEntryID]}
	for i, posting := range e.Entry.Postings {
		l := ledger.Leg{Posting: posting, Shard: e.Shards[i], MayDebitInternal: e.MayDebitInternal[i]}
		if a, ok := m.accounts[posting.AccountID]; ok && l.Shard < a.Shards {
			l.Found, l.Account, l.Posted = true, a.Account, a.rows[l.Shard]
			if posting.Amount < 0 {
				for h, amount := range a.holds {
					if h != e.ExcludeHold {
						l.Held += amount
					}
				}
			}
		}
		p.Legs = append(p.Legs, l)
	}
	return p
}

// checkRead holds what the statement read to the model.
func (m *booksModel) checkRead(tb testing.TB, want ledger.Proposal, got cockroach.RawResult) {
	tb.Helper()
	if got.Reversed != want.AlreadyReversed {
		tb.Fatalf("the statement read reversed=%v, the model says %v", got.Reversed, want.AlreadyReversed)
	}
	for i, w := range want.Legs {
		g := got.Legs[i]
		if g.Found != w.Found || g.Found && (g.Posted != w.Posted || g.Held != w.Held || g.Account.Kind != w.Account.Kind ||
			g.Account.Status != w.Account.Status || g.Account.Currency != w.Account.Currency) {
			tb.Fatalf("the statement read %+v, the model has %+v", g, w)
		}
	}
}

// apply posts e to the model.
func (m *booksModel) apply(e cockroach.RawEntry) {
	for i, p := range e.Entry.Postings {
		m.accounts[p.AccountID].rows[e.Shards[i]] += p.Amount
	}
	if e.Entry.ReversesEntryID != "" {
		m.reversed[e.Entry.ReversesEntryID] = true
	}
	m.entries = append(m.entries, e.Entry.ID)
}

// toggleStatus freezes an active customer account or makes a frozen one
// active again.
func (m *booksModel) toggleStatus(tb testing.TB, ctx context.Context, rng *rand.Rand) {
	tb.Helper()
	a := m.accounts[fmt.Sprintf("c%d", rng.IntN(10))]
	a.Status = map[ledger.Status]ledger.Status{ledger.StatusActive: ledger.StatusFrozen,
		ledger.StatusFrozen: ledger.StatusActive}[a.Status]
	if _, err := m.f.pool.Exec(ctx, `UPDATE accounts SET status = $2 WHERE account_id = $1`, a.ID,
		a.Status.String()); err != nil {
		tb.Fatal(err)
	}
}

// checkBalances holds every balance row in the database to the model.
func (m *booksModel) checkBalances(tb testing.TB, ctx context.Context) {
	tb.Helper()
	rows, err := m.f.pool.Query(ctx, `SELECT account_id, shard, posted FROM balances`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id string
		var shard int
		var posted int64
		if err := rows.Scan(&id, &shard, &posted); err != nil {
			tb.Fatal(err)
		}
		if a, ok := m.accounts[id]; !ok || a.rows[shard] != posted {
			tb.Errorf("balance row %s/%d holds %d; the model says %v", id, shard, posted, a)
		}
		n++
	}
	if rows.Err() != nil {
		tb.Fatal(rows.Err())
	}
	if n == 0 {
		tb.Fatal("no balance rows")
	}
}

func describe(e cockroach.RawEntry, p ledger.Proposal) string {
	var b strings.Builder
	fmt.Fprintf(&b, "reverses %q (reversed already: %v), leaving out hold %q\n", e.Entry.ReversesEntryID,
		p.AlreadyReversed, e.ExcludeHold)
	for _, l := range p.Legs {
		fmt.Fprintf(&b, "  %v may debit internal %v: found %v %s %s %s posted %d held %d\n", l, l.MayDebitInternal,
			l.Found, l.Account.Kind, l.Account.Status, l.Account.Currency, l.Posted, l.Held)
	}
	return b.String()
}
