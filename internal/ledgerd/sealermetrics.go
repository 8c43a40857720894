package ledgerd

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/corebanking/ledger/ledger/cockroach"
)

// sealerMetrics tell an operator whether the journal keeps up: what this
// process's sealer sealed, whether it holds the lease, how often it failed,
// and (read from the database at each scrape) how much waits to be sealed
// and for how long. Every replica's sealer reports; one of them leads.
type sealerMetrics struct {
	sealed   prometheus.Counter
	failures prometheus.Counter
	leader   prometheus.Gauge
	sequence prometheus.Gauge
	backlog  *prometheus.Desc
	lag      *prometheus.Desc

	sealer *cockroach.Sealer
	log    *slog.Logger
	now    func() time.Time
}

func newSealerMetrics(log *slog.Logger, now func() time.Time) *sealerMetrics {
	return &sealerMetrics{
		sealed: prometheus.NewCounter(prometheus.CounterOpts{Name: "ledger_journal_sealed_records_total",
			Help: "Journal records this process's sealer appended."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "ledger_journal_seal_failures_total",
			Help: "Sealing transactions of this process's sealer that failed (each is retried)."}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ledger_journal_sealer_leader",
			Help: "1 while this process's sealer holds the journal's lease, else 0."}),
		sequence: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ledger_journal_sealed_sequence",
			Help: "The last sequence this process's sealer appended."}),
		backlog: prometheus.NewDesc("ledger_journal_backlog_entries",
			"Committed entries waiting to be sealed.", nil, nil),
		lag: prometheus.NewDesc("ledger_journal_backlog_age_seconds",
			"How long the oldest entry waiting to be sealed has waited; 0 when none wait.", nil, nil),
		log: log, now: now,
	}
}

// observe is the sealer's OnSealed.
func (m *sealerMetrics) observe(r cockroach.SealResult) {
	if !r.Leader {
		m.leader.Set(0)
		return
	}
	m.leader.Set(1)
	if n := r.Sealed(); n > 0 {
		m.sealed.Add(float64(n))
		m.sequence.Set(float64(r.Last))
	}
}

// failed is the sealer's OnError.
func (m *sealerMetrics) failed(error) { m.failures.Inc() }

// Describe implements prometheus.Collector.
func (m *sealerMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range []prometheus.Collector{m.sealed, m.failures, m.leader, m.sequence} {
		c.Describe(ch)
	}
	ch <- m.backlog
	ch <- m.lag
}

// Collect implements prometheus.Collector. The backlog is read at the
// scrape, within a second; if the database does not answer in time, the
// two backlog metrics are left out of this scrape and the rest still served.
func (m *sealerMetrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range []prometheus.Collector{m.sealed, m.failures, m.leader, m.sequence} {
		c.Collect(ch)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n, oldest, err := m.sealer.Backlog(ctx)
	if err != nil {
		m.log.Warn("journal backlog for metrics", "error", err)
		return
	}
	var age float64
	if !oldest.IsZero() {
		age = max(m.now().Sub(oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(m.backlog, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(m.lag, prometheus.GaugeValue, age)
}
