package ledgerd

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/corebanking/ledger/ledger/cockroach"
)

// payerMetrics tell an operator whether matured subscriptions are paid in
// time: what this process's payer paid and how late, whether it holds the
// lease, how often it failed, and (read from the database at each scrape)
// how many subscriptions are due and since when. Every replica's payer
// reports; one of them leads.
type payerMetrics struct {
	paid          prometheus.Counter
	refused       prometheus.Counter
	failures      prometheus.Counter
	leader        prometheus.Gauge
	lag           prometheus.Histogram
	workerMetrics // the above, and what is due, read at each scrape

	payer *cockroach.Payer
}

func newPayerMetrics(log *slog.Logger, now func() time.Time) *payerMetrics {
	m := &payerMetrics{
		paid: prometheus.NewCounter(prometheus.CounterOpts{Name: "ledger_promo_payouts_total",
			Help: "Matured subscriptions this process's payer paid."}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "ledger_promo_payout_refusals_total",
			Help: "Payouts the ledger's rules refused (a frozen or closed account); each is tried again a minute later."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "ledger_promo_payout_failures_total",
			Help: "Payout transactions of this process's payer that failed (each is retried)."}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ledger_promo_payer_leader",
			Help: "1 while this process's payer holds the payout lease, else 0."}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ledger_promo_payout_lag_seconds",
			Help:    "For each payout batch, how long its longest-waiting subscription waited past maturity.",
			Buckets: []float64{0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300}}),
	}
	m.workerMetrics = workerMetrics{own: []prometheus.Collector{m.paid, m.refused, m.failures, m.leader, m.lag}}
	m.backlog = &backlogMetrics{what: "promo payout backlog", log: log, now: now,
		count: prometheus.NewDesc("ledger_promo_subscriptions_due",
			"Matured subscriptions not paid yet.", nil, nil),
		age: prometheus.NewDesc("ledger_promo_payout_backlog_age_seconds",
			"How long the oldest matured subscription not paid yet has waited; 0 when none wait.", nil, nil),
		read: func(ctx context.Context) (int64, time.Time, error) { return m.payer.Backlog(ctx) },
	}
	return m
}

// observe is the payer's OnPaid.
func (m *payerMetrics) observe(r cockroach.PayoutResult) {
	if !r.Leader {
		m.leader.Set(0)
		return
	}
	m.leader.Set(1)
	m.paid.Add(float64(r.Paid))
	m.refused.Add(float64(r.Refused))
	if r.Paid > 0 {
		m.lag.Observe(r.Lag.Seconds())
	}
}

// failed is the payer's OnError.
func (m *payerMetrics) failed(error) { m.failures.Inc() }
