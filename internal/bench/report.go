package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// Report is the benchmark's result: each run, their medians, and where and
// how it ran.
type Report struct {
	Command        []string     `json:"command"`
	Config         ReportConfig `json:"config"`
	Machine        Machine      `json:"machine"`
	PgbenchCommand string       `json:"pgbench_command,omitempty"`
	Runs           []Run        `json:"runs"`
	Median         Summary      `json:"median"`
}

// ReportConfig is the part of Config that shapes the figures.
type ReportConfig struct {
	DurationSec float64 `json:"duration_s"`
	Clients     int     `json:"clients"`
	GRPCConns   int     `json:"grpc_conns"`
	Accounts    int     `json:"accounts"`
	Runs        int     `json:"runs"`
	OwnServer   bool    `json:"own_server"` // a throwaway PostgreSQL with default settings
}

func reportConfig(c Config) ReportConfig {
	return ReportConfig{DurationSec: c.Duration.Seconds(), Clients: c.Clients, GRPCConns: grpcConns,
		Accounts: c.Accounts, Runs: c.Runs, OwnServer: c.DatabaseURL == ""}
}

// Run is one ledger phase and the pgbench phase right after it.
type Run struct {
	N       int            `json:"run"`
	Ledger  LedgerResult   `json:"ledger"`
	Pgbench *PgbenchResult `json:"pgbench,omitempty"`
	Ratio   float64        `json:"ratio,omitempty"` // ledger transfers/s over pgbench tps
}

// Summary is the median over runs of each figure, taken separately (the
// median ratio is the median of the runs' ratios).
type Summary struct {
	LedgerTPS   float64 `json:"ledger_transfers_per_s"`
	LedgerP99ms float64 `json:"ledger_p99_ms"`
	PgbenchTPS  float64 `json:"pgbench_tps,omitempty"`
	Ratio       float64 `json:"ratio,omitempty"`
}

func (r *Report) finish() *Report {
	var l, p99, pg, ratio []float64
	for _, run := range r.Runs {
		l, p99 = append(l, run.Ledger.TPS), append(p99, run.Ledger.P99ms)
		if run.Pgbench != nil && run.Ratio > 0 {
			pg, ratio = append(pg, run.Pgbench.TPS), append(ratio, run.Ratio)
		}
	}
	r.Median = Summary{LedgerTPS: Median(l), LedgerP99ms: Median(p99), PgbenchTPS: Median(pg), Ratio: Median(ratio)}
	return r
}

// Median is the middle value of xs (the mean of the two middle ones when
// their number is even), or 0 when there are none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteText writes the report for people: the machine, the commands, a
// table of runs and the medians.
func (r *Report) WriteText(w io.Writer) error {
	m := r.Machine
	var b strings.Builder
	fmt.Fprintf(&b, "machine:  %d CPUs, %s, %.1f GiB, %s, %s\n", m.CPUs, m.CPUModel, m.MemGiB, m.Kernel, m.Go)
	fmt.Fprintf(&b, "postgres: %s%s\n", m.Postgres, settingsText(m.Settings))
	fmt.Fprintf(&b, "command:  %s\n", shellJoin(r.Command))
	fmt.Fprintf(&b, "ledger:   %d clients over %d gRPC connections, Transfer between %d accounts, %gs per run\n",
		r.Config.Clients, r.Config.GRPCConns, r.Config.Accounts, r.Config.DurationSec)
	if r.PgbenchCommand != "" {
		fmt.Fprintf(&b, "pgbench:  %s (%s)\n", r.PgbenchCommand, m.Pgbench)
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tledger tx/s\tp50 ms\tp99 ms\tp99.9 ms\terrors\tpgbench tx/s\tpgbench lat ms\tpgbench failed\tratio\t")
	for _, run := range r.Runs {
		l := run.Ledger
		fmt.Fprintf(tw, "%d\t%.1f\t%.2f\t%.2f\t%.2f\t%s\t", run.N, l.TPS, l.P50ms, l.P99ms, l.P999ms, errorsText(l.Errors))
		if p := run.Pgbench; p != nil {
			fmt.Fprintf(tw, "%.1f\t%.2f\t%d\t%.3f\t\n", p.TPS, p.LatencyAvgMs, p.Failed, run.Ratio)
		} else {
			fmt.Fprint(tw, "-\t-\t-\t-\t\n")
		}
	}
	md := r.Median
	fmt.Fprintf(tw, "median\t%.1f\t\t%.2f\t\t\t%s\t\t\t%s\t\n", md.LedgerTPS, md.LedgerP99ms, orDash(md.PgbenchTPS, "%.1f"), orDash(md.Ratio, "%.3f"))
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n"+cpuText(r.Runs))
	return err
}

// cpuText shows where the CPU went in each phase, and what the database counted.
func cpuText(runs []Run) string {
	var b strings.Builder
	b.WriteString("CPU, % of all cores (host busy = bench process + pgbench + postgres + rest); database commits/s and rollbacks:\n")
	for _, run := range runs {
		c, d := run.Ledger.CPU, run.Ledger.DB
		fmt.Fprintf(&b, "  run %d ledger:  host %5.1f%%  steal %4.1f%%  bench process %5.1f%%                  db %7.1f commits/s %6d rollbacks\n",
			run.N, c.HostPct, c.StealPct, c.BenchPct, d.CommitsPerSec, d.Rollbacks)
		if p := run.Pgbench; p != nil {
			c, d := p.CPU, p.DB
			fmt.Fprintf(&b, "  run %d pgbench: host %5.1f%%  steal %4.1f%%  bench process %5.1f%%  pgbench %5.1f%%  db %7.1f commits/s %6d rollbacks\n",
				run.N, c.HostPct, c.StealPct, c.BenchPct, c.PgbenchPct, d.CommitsPerSec, d.Rollbacks)
		}
	}
	return b.String()
}

func settingsText(s map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s)) {
		parts = append(parts, k+"="+s[k])
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func errorsText(errs map[string]int64) string {
	if len(errs) == 0 {
		return "0"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("%s:%d", k, errs[k]))
	}
	return strings.Join(parts, ",")
}

func orDash(v float64, format string) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// shellJoin quotes args the way a shell would need them.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
