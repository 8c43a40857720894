package ledgerd

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/corebanking/ledger/ledger/cockroach"
)

// moveMetrics show group commit at work in each compartment's store
// (cockroach.MoveStats): how many transactions carried a batch of moves,
// and how many moves went in a batch or by themselves. Moves per batch is
// the first over the second; a compartment whose moves all go alone is
// either quiet or has batching off.
type moveMetrics struct {
	stores  map[string]*cockroach.Store // by compartment
	batches *prometheus.Desc
	moves   *prometheus.Desc
}

func newMoveMetrics(stores map[string]*cockroach.Store) *moveMetrics {
	return &moveMetrics{
		stores: stores,
		batches: prometheus.NewDesc("ledger_move_batches_total",
			"Transactions that made a batch of two or more transfers, deposits and withdrawals.",
			[]string{"compartment"}, nil),
		moves: prometheus.NewDesc("ledger_moves_total",
			"Transfers, deposits and withdrawals by how they went to the database: batched, in a batch's "+
				"transaction; alone, in one of their own (alone in the queue, or refused or failed in a batch).",
			[]string{"compartment", "path"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *moveMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.batches
	ch <- m.moves
}

// Collect implements prometheus.Collector.
func (m *moveMetrics) Collect(ch chan<- prometheus.Metric) {
	for name, s := range m.stores {
		st := s.MoveStats()
		ch <- prometheus.MustNewConstMetric(m.batches, prometheus.CounterValue, float64(st.Batches), name)
		ch <- prometheus.MustNewConstMetric(m.moves, prometheus.CounterValue, float64(st.Batched), name, "batched")
		ch <- prometheus.MustNewConstMetric(m.moves, prometheus.CounterValue, float64(st.Alone), name, "alone")
	}
}
