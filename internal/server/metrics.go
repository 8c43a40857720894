package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/corebanking/ledger/bulkhead"
)

// compartmentMetrics exports every compartment's live state. Gauges and
// counters are read from the bulkhead's own counters at scrape time, so the
// tap handler's rejections are counted with the rest.
type compartmentMetrics struct {
	iso         *isolation
	latency     *prometheus.HistogramVec
	transitions *prometheus.CounterVec
	known       *prometheus.CounterVec

	inFlight, queued, state, limit *prometheus.Desc
	adaptiveLimit                  *prometheus.Desc
	admitted, rejected, outcomes   *prometheus.Desc
}

func newCompartmentMetrics(iso *isolation) *compartmentMetrics {
	label := []string{"compartment"}
	return &compartmentMetrics{
		iso: iso,
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ledger_compartment_call_seconds", Help: "Time admitted calls spent in their compartment.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 15),
		}, label),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledger_compartment_breaker_transitions_total", Help: "Circuit breaker state changes, by the state entered.",
		}, []string{"compartment", "to"}),
		known: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledger_compartment_known_answers_total",
			Help: "Calls answered from memory before taking a worker slot, by reason.",
		}, []string{"compartment", "reason"}),
		inFlight: prometheus.NewDesc("ledger_compartment_in_flight", "Calls holding a worker slot.", label, nil),
		queued:   prometheus.NewDesc("ledger_compartment_queued", "Calls waiting for a worker slot.", label, nil),
		state: prometheus.NewDesc("ledger_compartment_breaker_state",
			"Circuit breaker state: 0 closed, 1 half-open, 2 open.", label, nil),
		limit: prometheus.NewDesc("ledger_compartment_max_concurrent", "Configured worker slots.", label, nil),
		adaptiveLimit: prometheus.NewDesc("ledger_compartment_limit",
			"Worker slots usable now: the configured ones, or fewer while the adaptive limit is cut.", label, nil),
		admitted: prometheus.NewDesc("ledger_compartment_admitted_total",
			"Calls admitted to a worker slot.", label, nil),
		rejected: prometheus.NewDesc("ledger_compartment_rejected_total",
			"Calls refused, by reason.", []string{"compartment", "reason"}, nil),
		outcomes: prometheus.NewDesc("ledger_compartment_outcomes_total",
			"Admitted calls by how the breaker judged them.", []string{"compartment", "outcome"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *compartmentMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.inFlight, m.queued, m.state, m.limit, m.adaptiveLimit, m.admitted, m.rejected, m.outcomes} {
		ch <- d
	}
	m.latency.Describe(ch)
	m.transitions.Describe(ch)
	m.known.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *compartmentMetrics) Collect(ch chan<- prometheus.Metric) {
	for _, name := range m.iso.names() {
		s := m.iso.byName[name].Stats()
		ch <- prometheus.MustNewConstMetric(m.inFlight, prometheus.GaugeValue, float64(s.InFlight), name)
		ch <- prometheus.MustNewConstMetric(m.queued, prometheus.GaugeValue, float64(s.Queued), name)
		ch <- prometheus.MustNewConstMetric(m.state, prometheus.GaugeValue, float64(s.State), name)
		ch <- prometheus.MustNewConstMetric(m.limit, prometheus.GaugeValue, float64(s.MaxConcurrent), name)
		ch <- prometheus.MustNewConstMetric(m.adaptiveLimit, prometheus.GaugeValue, float64(s.Limit), name)
		ch <- prometheus.MustNewConstMetric(m.admitted, prometheus.CounterValue, float64(s.Admitted), name)
		for r, n := range s.Rejected {
			ch <- prometheus.MustNewConstMetric(m.rejected, prometheus.CounterValue, float64(n), name, bulkhead.RejectReason(r).String())
		}
		ch <- prometheus.MustNewConstMetric(m.outcomes, prometheus.CounterValue, float64(s.Successes), name, "success")
		ch <- prometheus.MustNewConstMetric(m.outcomes, prometheus.CounterValue, float64(s.Failures), name, "failure")
	}
	m.latency.Collect(ch)
	m.transitions.Collect(ch)
	m.known.Collect(ch)
}
