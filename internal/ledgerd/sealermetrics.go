package ledgerd

import (
	"context"
	"errors"
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
	sealed        prometheus.Counter
	failures      prometheus.Counter
	leader        prometheus.Gauge
	sequence      prometheus.Gauge
	checkpoints   prometheus.Counter
	signedSize    prometheus.Gauge
	witnessFail   prometheus.Counter
	workerMetrics // the above, and the backlog, read at each scrape

	sealer *cockroach.Sealer
}

func newSealerMetrics(log *slog.Logger, now func() time.Time) *sealerMetrics {
	m := &sealerMetrics{
		sealed: prometheus.NewCounter(prometheus.CounterOpts{Name: "ledger_journal_sealed_records_total",
			Help: "Journal records this process's sealer appended."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "ledger_journal_seal_failures_total",
			Help: "Sealing transactions of this process's sealer that failed (each is retried)."}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ledger_journal_sealer_leader",
			Help: "1 while this process's sealer holds the journal's lease, else 0."}),
		sequence: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ledger_journal_sealed_sequence",
			Help: "The last sequence this process's sealer appended."}),
		checkpoints: prometheus.NewCounter(prometheus.CounterOpts{Name: "ledger_journal_checkpoints_total",
			Help: "Checkpoints of the journal's tree this process's sealer signed."}),
		signedSize: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ledger_journal_checkpoint_size",
			Help: "How many records the last checkpoint this process's sealer signed commits to."}),
		witnessFail: prometheus.NewCounter(prometheus.CounterOpts{Name: "ledger_journal_witness_failures_total",
			Help: "Signed checkpoints the witness file did not take (the next checkpoint covers their records)."}),
	}
	m.workerMetrics = workerMetrics{own: []prometheus.Collector{m.sealed, m.failures, m.leader, m.sequence, m.checkpoints,
		m.signedSize, m.witnessFail}}
	m.backlog = &backlogMetrics{what: "journal backlog", log: log, now: now,
		count: prometheus.NewDesc("ledger_journal_backlog_entries",
			"Committed entries waiting to be sealed.", nil, nil),
		age: prometheus.NewDesc("ledger_journal_backlog_age_seconds",
			"How long the oldest entry waiting to be sealed has waited; 0 when none wait.", nil, nil),
		read: func(ctx context.Context) (int64, time.Time, error) { return m.sealer.Backlog(ctx) },
	}
	return m
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
	if r.Checkpoint != nil {
		m.checkpoints.Inc()
		m.signedSize.Set(float64(r.Checkpoint.Size))
	}
}

// failed is the sealer's OnError.
func (m *sealerMetrics) failed(err error) {
	if errors.Is(err, cockroach.ErrWitness) {
		m.witnessFail.Inc()
		return
	}
	m.failures.Inc()
}
