package bench_test

import (
	"testing"

	"github.com/corebanking/ledger/internal/bench"
)

// pg15 is pgbench 15's output for the transfer script, verbatim.
const pg15 = `pgbench (15.18 (Debian 15.18-0+deb12u1))
starting vacuum...end.
transaction type: ../shared/bench/pgbench-transfer.sql
scaling factor: 1
query mode: prepared
number of clients: 32
number of threads: 2
maximum number of tries: 1
duration: 5 s
number of transactions actually processed: 8453
number of failed transactions: 34 (0.401%)
latency average = 19.164 ms (including failures)
initial connection time = 96.823 ms
tps = 1663.136625 (without initial connection time)
`

// pg13 is the older summary, with two tps lines and no failure count.
const pg13 = `transaction type: transfer.sql
scaling factor: 10
query mode: prepared
number of clients: 32
number of threads: 2
duration: 20 s
number of transactions actually processed: 40000/40000
latency average = 15.000 ms
latency stddev = 3.250 ms
tps = 2100.5 (including connections establishing)
tps = 2133.25 (excluding connections establishing)
`

func TestParsePgbench(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		got, err := bench.ParsePgbench(pg15)
		if err != nil {
			t.Fatal(err)
		}
		want := bench.PgbenchResult{TPS: 1663.136625, Processed: 8453, Failed: 34, LatencyAvgMs: 19.164, InitialConnMs: 96.823}
		if got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("OlderFormat", func(t *testing.T) {
		got, err := bench.ParsePgbench(pg13)
		if err != nil {
			t.Fatal(err)
		}
		want := bench.PgbenchResult{TPS: 2133.25, Processed: 40000, LatencyAvgMs: 15, LatencyStdMs: 3.25}
		if got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("ErrNoTPS", func(t *testing.T) {
		out := "pgbench: error: connection to server failed\npgbench: fatal: could not create connection for initialization\n"
		if _, err := bench.ParsePgbench(out); err == nil {
			t.Error("no error for output without a tps line")
		}
	})
	t.Run("ErrBadTPS", func(t *testing.T) {
		if _, err := bench.ParsePgbench("tps = n/a (without initial connection time)\n"); err == nil {
			t.Error("no error for an unreadable tps")
		}
	})
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		name string
		xs   []float64
		want float64
	}{
		{"Empty", nil, 0},
		{"Odd", []float64{3, 1, 2}, 2},
		{"Even", []float64{4, 1, 3, 2}, 2.5},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := bench.Median(c.xs); got != c.want {
				t.Errorf("Median(%v) = %v, want %v", c.xs, got, c.want)
			}
		})
	}
}
