package cockroach

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/corebanking/ledger/ledger"
)

// The payer pays matured subscriptions back, by itself, in batches through
// the posting engine: each payout is an entry of kind PROMO_PAYOUT by the
// ledger (actor system), which alone may debit the interest expense
// account without an operator.
//
// Exactly once, whatever crashes or second instances happen: a payout's
// request id derives from its subscription (ledger.PayoutRequestID), and a
// request id is used once; and the transaction that posts a batch moves its
// subscriptions out of ACTIVE, refusing to commit unless every one of them
// still was. A payer killed mid-batch leaves a transaction the database
// rolls back, and the next batch pays those subscriptions.
//
// One payer at a time: each batch's transaction takes or renews the lease
// row first, as the sealer does; a payer without the lease pays nothing.

// payoutLeaseName is the one payout lease row.
const payoutLeaseName = "payout"

// payoutRetry is how long a payout the rules refused (its account frozen
// or closed) waits before the payer tries it again.
const payoutRetry = time.Minute

// The payer's lease (leaseLoop).
var (
	sqlTakePayoutLease    = takeLeaseSQL("payout_lease")
	sqlReleasePayoutLease = releaseLeaseSQL("payout_lease")
)

const (
	// sqlDueSubscriptions reads up to $2 subscriptions due at $1, the
	// longest due first, with their promo's terms.
	sqlDueSubscriptions = `SELECT s.promo_id, s.customer_id, s.account_id, s.amount, s.from_account_id, s.created_at,
			s.matures_at, p.currency, p.annual_rate_bps, p.withholding_bps
		FROM subscriptions AS s JOIN promos AS p ON p.promo_id = s.promo_id
		WHERE s.status = 'ACTIVE' AND s.due_at <= $1 ORDER BY s.due_at LIMIT $2`
	// sqlPostponePayouts moves subscriptions (promo $1, customer $2,
	// pairwise) whose payout was refused to be due again at $3.
	sqlPostponePayouts = `UPDATE subscriptions SET due_at = $3
		WHERE (promo_id, customer_id) IN (SELECT * FROM unnest(CAST($1 AS TEXT[]), CAST($2 AS TEXT[])))
			AND status = 'ACTIVE'`
	// sqlPayoutBacklog counts the subscriptions due at $1 and gives the
	// oldest maturity among them.
	sqlPayoutBacklog = `SELECT count(*), min(matures_at) FROM subscriptions WHERE status = 'ACTIVE' AND due_at <= $1`
)

func init() {
	statements = append(statements, sqlTakePayoutLease, sqlReleasePayoutLease, sqlDueSubscriptions,
		sqlPostponePayouts, sqlPayoutBacklog)
}

// PayerOptions tune a Payer. The zero value of each field means its default.
type PayerOptions struct {
	// Holder names this payer in the lease; a new random id by default.
	Holder string
	// Interval is the pause between polls once nothing is due; 1s by default.
	Interval time.Duration
	// Batch is the most subscriptions one transaction pays; 250 by
	// default, which paid a wave faster than 1000 on a busy two-core
	// machine (docs/promo.md). A batch reads about two balance rows a
	// payout: far within the predicate locks PostgreSQL keeps per row
	// before it coarsens them to the whole table (internal/pgserver.Defaults),
	// where they would conflict with every routine payment.
	Batch int
	// LeaseTTL is how long a lease lasts unless renewed; 5s by default.
	LeaseTTL time.Duration
	// Logger receives payout errors and refusals; the store's logger by default.
	Logger *slog.Logger
	// OnPaid, if set, is told of every payout transaction that committed.
	OnPaid func(PayoutResult)
	// OnError, if set, is told of every payout transaction that failed.
	OnError func(error)
}

// PayoutResult is what one payout transaction did.
type PayoutResult struct {
	// Leader is whether this payer held the lease; nothing is paid otherwise.
	Leader bool
	Epoch  int64
	// Paid is how many subscriptions the transaction paid, and Refused how
	// many payouts the ledger's rules refused (they are tried again later).
	Paid, Refused int
	// Lag is the longest a paid subscription waited past its maturity.
	Lag time.Duration
}

// Payer pays matured subscriptions; see the comment at the top of payout.go.
type Payer struct {
	st      *Store
	opt     PayerOptions
	ensured map[string]bool // currencies whose interest and tax accounts exist; Run's goroutine only
}

// NewPayer returns a payer that works through st, whose pool is its own.
func NewPayer(st *Store, opt PayerOptions) *Payer {
	if opt.Holder == "" {
		opt.Holder = "payer-" + uuid.NewString()
	}
	if opt.Interval <= 0 {
		opt.Interval = time.Second
	}
	if opt.Batch <= 0 {
		opt.Batch = 250
	}
	if opt.LeaseTTL <= 0 {
		opt.LeaseTTL = 5 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = st.opt.Logger
	}
	return &Payer{st: st, opt: opt, ensured: map[string]bool{}}
}

// Run pays until ctx ends, then gives up the lease. Errors are logged and
// retried after a pause; they never end the loop.
func (y *Payer) Run(ctx context.Context) {
	leaseLoop{what: "promo payer", holder: y.opt.Holder, interval: y.opt.Interval, leaseTTL: y.opt.LeaseTTL,
		logger: y.opt.Logger, onError: y.opt.OnError,
		once: func(ctx context.Context) (bool, error) {
			res, err := y.PayOnce(ctx)
			return res.Paid+res.Refused == y.opt.Batch, err // more are due: go on at once
		},
		release: func(ctx context.Context) error {
			_, err := y.st.pool.Exec(ctx, sqlReleasePayoutLease, payoutLeaseName, y.opt.Holder)
			return err
		},
	}.run(ctx)
}

// Backlog is how many subscriptions are due and not yet paid, and the
// oldest maturity among them (zero when none are).
func (y *Payer) Backlog(ctx context.Context) (n int64, oldest time.Time, err error) {
	var at *time.Time
	if err := y.st.pool.QueryRow(ctx, sqlPayoutBacklog, y.st.now()).Scan(&n, &at); err != nil {
		return 0, time.Time{}, err
	}
	if at != nil {
		oldest = at.UTC()
	}
	return n, oldest, nil
}

// due is a subscription due to be paid, with its promo's terms.
type due struct {
	sub                 ledger.Subscription
	currency            string
	rateBps, withholdBp int32
}

// PayOnce takes or renews the lease and, if this payer holds it, pays one
// batch of due subscriptions in one transaction.
func (y *Payer) PayOnce(ctx context.Context) (PayoutResult, error) {
	var res PayoutResult
	var currencies []string
	s := y.st
	err := s.inTx(ctx, func(t *txn) error {
		res, currencies = PayoutResult{}, nil
		now := s.now()
		dues, err := y.leaseAndDue(ctx, t, now, &res)
		if err != nil || !res.Leader {
			return err // not the leader: the transaction is rolled back
		}
		if len(dues) == 0 {
			return t.commit(ctx, &pgx.Batch{}) // the renewed lease
		}
		b := &pgx.Batch{}
		var props []*proposal
		var pays []ledger.Payout
		props, pays, currencies = y.proposePayouts(ctx, b, dues, now)
		if onPostgres(t.conn) {
			b.Queue(sqlGenericPlan)
		}
		if err := queuePost(b, props, now, false); err != nil {
			return err
		}
		if err := t.exec(ctx, b); err != nil {
			return err
		}
		return y.closePayouts(ctx, t, props, dues, pays, now, &res)
	})
	if err != nil {
		return res, err
	}
	for _, c := range currencies {
		y.ensured[c] = true
	}
	if y.opt.OnPaid != nil {
		y.opt.OnPaid(res)
	}
	return res, nil
}

// leaseAndDue takes or renews the lease in t, which res.Leader and
// res.Epoch then tell, and reads the subscriptions due at now, a batch at
// most, in one round trip.
func (y *Payer) leaseAndDue(ctx context.Context, t *txn, now time.Time, res *PayoutResult) ([]due, error) {
	var dues []due
	b := &pgx.Batch{}
	if onPostgres(t.conn) {
		b.Queue(sqlGenericPlan) // read the due subscriptions by their index, not the whole table
	}
	queueTakeLease(b, sqlTakePayoutLease, payoutLeaseName, y.opt.Holder, y.opt.LeaseTTL, &res.Leader, &res.Epoch)
	b.Queue(sqlDueSubscriptions, now, y.opt.Batch).Query(func(rows pgx.Rows) error {
		var d due
		_, err := pgx.ForEachRow(rows, []any{&d.sub.PromoID, &d.sub.CustomerID, &d.sub.AccountID, &d.sub.Amount,
			&d.sub.FromAccount, &d.sub.CreatedAt, &d.sub.MaturesAt, &d.currency, &d.rateBps, &d.withholdBp}, func() error {
			d.sub.CreatedAt, d.sub.MaturesAt, d.sub.Status = d.sub.CreatedAt.UTC(), d.sub.MaturesAt.UTC(), ledger.SubscriptionActive
			dues = append(dues, d)
			return nil
		})
		return err
	})
	return dues, t.exec(ctx, b)
}

// proposePayouts returns the payout of each of dues and its proposal,
// begun at now, and queues into b the opening of the interest and tax
// accounts of the currencies it returns.
func (y *Payer) proposePayouts(ctx context.Context, b *pgx.Batch, dues []due, now time.Time) ([]*proposal, []ledger.Payout, []string) {
	s := y.st
	var currencies []string
	props, pays := make([]*proposal, len(dues)), make([]ledger.Payout, len(dues))
	for i, d := range dues {
		currencies = y.queueEnsure(b, currencies, d.currency, now)
		pays[i] = ledger.PayoutFor(d.sub.Amount, d.rateBps, d.withholdBp, d.sub.MaturesAt.Sub(d.sub.CreatedAt))
		en := d.sub.ClosingEntry(ledger.EntryPromoPayout, ledger.PayoutRequestID(d.sub.PromoID, d.sub.CustomerID), d.currency, pays[i])
		p := s.newProposal(ctx, d.sub.PayoutFingerprint(), en, nil)
		paid := d.sub
		paid.Status, paid.Interest, paid.Tax, paid.ClosedAt = ledger.SubscriptionMatured, pays[i].Interest, pays[i].Tax, now
		p.result = func(en ledger.Entry) any { paid.PayoutEntryID = en.ID; return paid }
		p.begin(now)
		s.pickShards(p)
		props[i] = p
	}
	return props, pays, currencies
}

// closePayouts, once props were sent, closes the subscriptions whose
// payout was posted, postpones those the rules refused by payoutRetry,
// counts both into res and commits t.
func (y *Payer) closePayouts(ctx context.Context, t *txn, props []*proposal, dues []due, pays []ledger.Payout, now time.Time, res *PayoutResult) error {
	s := y.st
	verdicts := s.verdicts(props, false)
	var paid closings
	var refused closings
	for i, p := range props {
		if p.posted {
			paid.add(dues[i].sub, pays[i], p.id)
			res.Paid++
			res.Lag = max(res.Lag, now.Sub(dues[i].sub.MaturesAt))
			continue
		}
		res.Refused++
		refused.add(dues[i].sub, pays[i], p.id)
		y.opt.Logger.Warn("promo payer: payout refused, to be tried again", "promo", dues[i].sub.PromoID,
			"customer", dues[i].sub.CustomerID, "reason", s.refusal(p, verdicts[i]), "retry_at", now.Add(payoutRetry))
	}
	final := &pgx.Batch{}
	if res.Paid > 0 {
		paid.queue(final, ledger.SubscriptionMatured, now)
	}
	if res.Refused > 0 {
		final.Queue(sqlPostponePayouts, refused.promos, refused.customers, now.Add(payoutRetry))
	}
	return t.commit(ctx, final)
}

// queueEnsure queues the opening of currency's interest expense and tax
// payable accounts into b, once per payer and currency, and adds currency
// to queued.
func (y *Payer) queueEnsure(b *pgx.Batch, queued []string, currency string, now time.Time) []string {
	if y.ensured[currency] {
		return queued
	}
	for _, c := range queued {
		if c == currency {
			return queued
		}
	}
	for _, id := range []string{ledger.InterestExpenseAccountID(currency), ledger.TaxPayableAccountID(currency)} {
		queueEnsureAccount(b, ledger.Account{ID: id, Currency: currency, Kind: ledger.KindInternal,
			Status: ledger.StatusActive, Shards: y.st.shards(id), CreatedAt: now})
	}
	return append(queued, currency)
}
