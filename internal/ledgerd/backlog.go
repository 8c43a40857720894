package ledgerd

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// workerMetrics are a background worker's metrics (the sealer's, the
// payer's) as one prometheus.Collector: those this process keeps itself
// (own), and its backlog, read from the database at each scrape.
type workerMetrics struct {
	own     []prometheus.Collector
	backlog *backlogMetrics
}

// Describe implements prometheus.Collector.
func (w *workerMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range w.own {
		c.Describe(ch)
	}
	w.backlog.describe(ch)
}

// Collect implements prometheus.Collector; the backlog is read at the
// scrape.
func (w *workerMetrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range w.own {
		c.Collect(ch)
	}
	w.backlog.collect(ch)
}

// backlogMetrics are two gauges read from the database at each scrape: how
// much work waits (journal entries to seal, subscriptions to pay), and how
// long the oldest of it has waited.
type backlogMetrics struct {
	what       string // for the log
	count, age *prometheus.Desc
	read       func(context.Context) (n int64, oldest time.Time, err error)
	log        *slog.Logger
	now        func() time.Time
}

func (b *backlogMetrics) describe(ch chan<- *prometheus.Desc) {
	ch <- b.count
	ch <- b.age
}

// collect reads the backlog within a second; if the database does not
// answer in time, the two metrics are left out of this scrape and the
// collector's others still served.
func (b *backlogMetrics) collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n, oldest, err := b.read(ctx)
	if err != nil {
		b.log.Warn(b.what+" for metrics", "error", err)
		return
	}
	var age float64
	if !oldest.IsZero() {
		age = max(b.now().Sub(oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(b.count, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(b.age, prometheus.GaugeValue, age)
}
