package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/corebanking/ledger/ledger/cockroach"
)

// Report is the benchmark's result: each run, their medians, and where and
// how it ran.
type Report struct {
	Command        []string     `json:"command"`
	Config         ReportConfig `json:"config"`
	Machine        Machine      `json:"machine"`
	PgbenchCommand string       `json:"pgbench_command,omitempty"`
	SQLCommand     string       `json:"ledger_sql_command,omitempty"`
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
	OwnServer   bool    `json:"own_server"`           // a throwaway PostgreSQL with pgserver.Defaults
	MoveBatch   int     `json:"move_batch,omitempty"` // the --move-batch override; 0: the store's default
	MoveLanes   int     `json:"move_lanes,omitempty"` // the --move-lanes override; 0: the store's default
	Batch       int     `json:"batch,omitempty"`      // transfers a SubmitBatch in the batch phase; 0: no batch phase
	// SealerPaired: each run also had a phase with the sealer paused.
	SealerPaired bool `json:"sealer_paired,omitempty"`
	// SealerWindowSec: each run's phase of one Transfer a call alternated
	// the sealer in windows of this many seconds.
	SealerWindowSec float64 `json:"sealer_window_s,omitempty"`
	// SealerIntervalSec is the --sealer-interval override; 0: ledgerd's default.
	SealerIntervalSec float64 `json:"sealer_interval_s,omitempty"`
}

func reportConfig(c Config) ReportConfig {
	return ReportConfig{DurationSec: c.Duration.Seconds(), Clients: c.Clients, GRPCConns: grpcConns,
		Accounts: c.Accounts, Runs: c.Runs, OwnServer: c.DatabaseURL == "",
		MoveBatch: c.MoveBatch, MoveLanes: c.MoveLanes, Batch: c.Batch, SealerPaired: c.SealerPaired && !c.SealerOff,
		SealerWindowSec: c.SealerWindow.Seconds(), SealerIntervalSec: c.SealerInterval.Seconds()}
}

// Run is one ledger phase and the pgbench and SQL phases right after it.
type Run struct {
	N       int            `json:"run"`
	Ledger  LedgerResult   `json:"ledger"`
	Pgbench *PgbenchResult `json:"pgbench,omitempty"`
	Ratio   float64        `json:"ratio,omitempty"` // ledger transfers/s over pgbench tps
	// Batch is the phase of batches, when there is one, and BatchRatio its
	// transfers/s over pgbench's tps.
	Batch      *LedgerResult `json:"ledger_batch,omitempty"`
	BatchRatio float64       `json:"batch_ratio,omitempty"`
	// SQL is pgbench running the ledger's own transfer statement (sqlphase.go).
	SQL      *PgbenchResult `json:"ledger_sql,omitempty"`
	SQLRatio float64        `json:"ledger_sql_ratio,omitempty"` // its tps over pgbench's
	// SealerPaused is the phase of one Transfer a call with the sealer
	// paused, when the sealer's on and off phases are paired, and
	// SealerCost what the sealer cost: 1 - Ledger's transfers/s over its.
	SealerPaused *LedgerResult `json:"ledger_sealer_paused,omitempty"`
	SealerCost   float64       `json:"sealer_cost,omitempty"`
}

// Summary is the median over runs of each figure, taken separately (the
// median ratio is the median of the runs' ratios).
type Summary struct {
	LedgerTPS   float64 `json:"ledger_transfers_per_s"`
	LedgerP99ms float64 `json:"ledger_p99_ms"`
	PgbenchTPS  float64 `json:"pgbench_tps,omitempty"`
	Ratio       float64 `json:"ratio,omitempty"`
	SQLTPS      float64 `json:"ledger_sql_tps,omitempty"`
	SQLRatio    float64 `json:"ledger_sql_ratio,omitempty"`
	BatchTPS    float64 `json:"ledger_batch_transfers_per_s,omitempty"`
	BatchRatio  float64 `json:"batch_ratio,omitempty"`
	// SealerPausedTPS and SealerCost are the paired phases' medians.
	SealerPausedTPS float64 `json:"ledger_sealer_paused_transfers_per_s,omitempty"`
	SealerCost      float64 `json:"sealer_cost,omitempty"`
	// SealerWindowCost is the median of every run's windows' costs, and
	// SealerWindowQuartiles the first and third quartiles.
	SealerWindowCost      float64    `json:"sealer_window_cost,omitempty"`
	SealerWindowQuartiles [2]float64 `json:"sealer_window_cost_quartiles,omitzero"`
	SealerWindows         int        `json:"sealer_windows,omitempty"`
	// SealerWindowCPUCost is the median of the windows' CPUCost, and
	// SealerWindowProcessCPUCost of their ProcessCPUCost; SealerWindowHost
	// is the median host busy share on and paused.
	SealerWindowCPUCost        float64    `json:"sealer_window_cpu_cost,omitempty"`
	SealerWindowProcessCPUCost float64    `json:"sealer_window_process_cpu_cost,omitempty"`
	SealerWindowHost           [2]float64 `json:"sealer_window_host_pct_on_paused,omitzero"`
}

func (r *Report) finish() *Report {
	var l, p99, pg, ratio, sql, sqlRatio, batch, batchRatio, paused, cost, windowCost []float64
	var windowCPU, windowProcess, hostOn, hostPaused []float64
	for _, run := range r.Runs {
		for _, w := range run.Ledger.SealerWindows {
			windowCost = append(windowCost, w.Cost)
			if w.PausedHost > 0 {
				windowCPU, windowProcess = append(windowCPU, w.CPUCost), append(windowProcess, w.ProcessCPUCost)
				hostOn, hostPaused = append(hostOn, w.onHost()), append(hostPaused, w.PausedHost)
			}
		}
		if run.SealerPaused != nil {
			paused, cost = append(paused, run.SealerPaused.TPS), append(cost, run.SealerCost)
		}
		if run.Batch != nil {
			batch = append(batch, run.Batch.TPS)
			if run.BatchRatio > 0 {
				batchRatio = append(batchRatio, run.BatchRatio)
			}
		}
		l, p99 = append(l, run.Ledger.TPS), append(p99, run.Ledger.P99ms)
		if run.Pgbench != nil && run.Ratio > 0 {
			pg, ratio = append(pg, run.Pgbench.TPS), append(ratio, run.Ratio)
		}
		if run.SQL != nil && run.SQLRatio > 0 {
			sql, sqlRatio = append(sql, run.SQL.TPS), append(sqlRatio, run.SQLRatio)
		}
	}
	r.Median = Summary{LedgerTPS: Median(l), LedgerP99ms: Median(p99), PgbenchTPS: Median(pg), Ratio: Median(ratio),
		SQLTPS: Median(sql), SQLRatio: Median(sqlRatio), BatchTPS: Median(batch), BatchRatio: Median(batchRatio),
		SealerPausedTPS: Median(paused), SealerCost: Median(cost),
		SealerWindowCost: Median(windowCost), SealerWindows: len(windowCost),
		SealerWindowQuartiles: [2]float64{quantile(windowCost, 0.25), quantile(windowCost, 0.75)},
		SealerWindowCPUCost:   Median(windowCPU), SealerWindowProcessCPUCost: Median(windowProcess),
		SealerWindowHost: [2]float64{Median(hostOn), Median(hostPaused)}}
	return r
}

// Median is the middle value of xs (the mean of the two middle ones when
// their number is even), or 0 when there are none.
func Median(xs []float64) float64 { return quantile(xs, 0.5) }

// quantile is the q-quantile of xs, interpolated between the two nearest
// values (Median's rule at q = 0.5); 0 when xs is empty.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
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
	fmt.Fprintf(&b, "ledger:   %d clients over %d gRPC connections, Transfer between %d accounts, %gs per run, %s\n",
		r.Config.Clients, r.Config.GRPCConns, r.Config.Accounts, r.Config.DurationSec, groupCommitText(r.Config.MoveBatch, r.Config.MoveLanes))
	if r.PgbenchCommand != "" {
		fmt.Fprintf(&b, "pgbench:  %s (%s)\n", r.PgbenchCommand, m.Pgbench)
	}
	if r.SQLCommand != "" {
		fmt.Fprintf(&b, "SQL:      %s (the ledger's transfer statement, on its own database with the ledger's schema)\n", r.SQLCommand)
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tledger tx/s\tp50 ms\tp99 ms\tp99.9 ms\terrors\tpgbench tx/s\tpgbench lat ms\tpgbench failed\tratio\tSQL tx/s\tSQL ratio\t")
	for _, run := range r.Runs {
		l := run.Ledger
		fmt.Fprintf(tw, "%d\t%.1f\t%.2f\t%.2f\t%.2f\t%s\t", run.N, l.TPS, l.P50ms, l.P99ms, l.P999ms, errorsText(l.Errors))
		if p := run.Pgbench; p != nil {
			fmt.Fprintf(tw, "%.1f\t%.2f\t%d\t%.3f\t", p.TPS, p.LatencyAvgMs, p.Failed, run.Ratio)
		} else {
			fmt.Fprint(tw, "-\t-\t-\t-\t")
		}
		if s := run.SQL; s != nil {
			fmt.Fprintf(tw, "%.1f\t%s\t\n", s.TPS, orDash(run.SQLRatio, "%.3f"))
		} else {
			fmt.Fprint(tw, "-\t-\t\n")
		}
	}
	md := r.Median
	fmt.Fprintf(tw, "median\t%.1f\t\t%.2f\t\t\t%s\t\t\t%s\t%s\t%s\t\n", md.LedgerTPS, md.LedgerP99ms,
		orDash(md.PgbenchTPS, "%.1f"), orDash(md.Ratio, "%.3f"), orDash(md.SQLTPS, "%.1f"), orDash(md.SQLRatio, "%.3f"))
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Config.Batch > 0 {
		if err := r.writeBatchText(w); err != nil {
			return err
		}
	}
	if r.Config.SealerPaired {
		if err := r.writeSealerText(w); err != nil {
			return err
		}
	}
	if r.Config.SealerWindowSec > 0 {
		if err := r.writeWindowsText(w); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "\n"+cpuText(r.Runs))
	return err
}

// writeBatchText adds the batch phases: transfers/s, each batch's latency,
// and the ratio to the same run's pgbench.
func (r *Report) writeBatchText(w io.Writer) error {
	fmt.Fprintf(w, "\nbatches: the same clients each submitting %d transfers a call (SubmitBatch); latency is a batch's\n",
		r.Config.Batch)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tbatch transfers/s\tbatch p50 ms\tbatch p99 ms\terrors\tpgbench tx/s\tbatch ratio\tentries a transaction\tposted alone\tsealer caught up s\t")
	for _, run := range r.Runs {
		b := run.Batch
		if b == nil {
			continue
		}
		pg := "-"
		if run.Pgbench != nil {
			pg = fmt.Sprintf("%.1f", run.Pgbench.TPS)
		}
		perTx := "-"
		if b.Moves.Batches > 0 {
			perTx = fmt.Sprintf("%.1f", float64(b.Moves.Batched)/float64(b.Moves.Batches))
		}
		alone := "-"
		if all := b.Moves.Batched + b.Moves.Alone; all > 0 {
			alone = fmt.Sprintf("%.1f%%", 100*float64(b.Moves.Alone)/float64(all))
		}
		fmt.Fprintf(tw, "%d\t%.1f\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t%s\t%.1f\t\n", run.N, b.TPS, b.P50ms, b.P99ms, errorsText(b.Errors),
			pg, orDash(run.BatchRatio, "%.3f"), perTx, alone, b.SealCatchUpSec)
	}
	md := r.Median
	fmt.Fprintf(tw, "median\t%.1f\t\t\t\t%s\t%s\t\t\t\t\n", md.BatchTPS, orDash(md.PgbenchTPS, "%.1f"), orDash(md.BatchRatio, "%.3f"))
	return tw.Flush()
}

// writeSealerText adds the paired phases of one Transfer a call, with the
// sealer on and paused, and what the sealer cost in each run.
func (r *Report) writeSealerText(w io.Writer) error {
	fmt.Fprintln(w, "\nthe sealer: the ledger phase again with the sealer paused, on the same server; odd runs pause it second, even runs first")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tsealer on tx/s\tsealer paused tx/s\tsealer cost\tbacklog sealed in s\t")
	for _, run := range r.Runs {
		if p := run.SealerPaused; p != nil {
			fmt.Fprintf(tw, "%d\t%.1f\t%.1f\t%.1f%%\t%.1f\t\n", run.N, run.Ledger.TPS, p.TPS, 100*run.SealerCost, p.SealCatchUpSec)
		}
	}
	md := r.Median
	fmt.Fprintf(tw, "median\t%.1f\t%.1f\t%.1f%%\t\t\n", md.LedgerTPS, md.SealerPausedTPS, 100*md.SealerCost)
	return tw.Flush()
}

// writeWindowsText adds the windows of each run's phase of one Transfer a
// call in which the sealer was paused, with the windows on either side.
func (r *Report) writeWindowsText(w io.Writer) error {
	fmt.Fprintf(w, "\nthe sealer: alternated on and paused in windows of %gs in the ledger phase; "+
		"each paused window's backlog sealed before the next window on\n", r.Config.SealerWindowSec)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\twindow\ton before tx/s\tpaused tx/s\ton after tx/s\tsealer cost\thost busy on/paused\tCPU a transfer\tof it, this process\t")
	for _, run := range r.Runs {
		for i, x := range run.Ledger.SealerWindows {
			fmt.Fprintf(tw, "%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f%%\t%.1f%% / %.1f%%\t%+.1f%%\t%+.1f%%\t\n", run.N, i+1, x.OnBefore, x.Paused, x.OnAfter,
				100*x.Cost, x.onHost(), x.PausedHost, 100*x.CPUCost, 100*x.ProcessCPUCost)
		}
	}
	md := r.Median
	fmt.Fprintf(tw, "median of %d\t\t\t\t\t%.1f%%\t%.1f%% / %.1f%%\t%+.1f%%\t%+.1f%%\t\n", md.SealerWindows, 100*md.SealerWindowCost,
		md.SealerWindowHost[0], md.SealerWindowHost[1], 100*md.SealerWindowCPUCost, 100*md.SealerWindowProcessCPUCost)
	fmt.Fprintf(tw, "quartiles\t\t\t\t\t%.1f%% to %.1f%%\t\t\t\t\n", 100*md.SealerWindowQuartiles[0], 100*md.SealerWindowQuartiles[1])
	return tw.Flush()
}

// cpuText shows where the CPU went in each phase, and what the database counted.
func cpuText(runs []Run) string {
	var b strings.Builder
	b.WriteString("CPU, % of all cores (host busy = bench process + pgbench + postgres + rest); database commits/s and rollbacks:\n")
	for _, run := range runs {
		c, d := run.Ledger.CPU, run.Ledger.DB
		fmt.Fprintf(&b, "  run %d ledger:  host %5.1f%%  steal %4.1f%%  bench process %5.1f%%                  db %7.1f commits/s %6d rollbacks%s\n",
			run.N, c.HostPct, c.StealPct, c.BenchPct, d.CommitsPerSec, d.Rollbacks, movesText(run.Ledger.Moves))
		for _, p := range []struct {
			name string
			r    *PgbenchResult
		}{{"pgbench", run.Pgbench}, {"SQL    ", run.SQL}} {
			if p.r == nil {
				continue
			}
			c, d := p.r.CPU, p.r.DB
			fmt.Fprintf(&b, "  run %d %s: host %5.1f%%  steal %4.1f%%  bench process %5.1f%%  pgbench %5.1f%%  db %7.1f commits/s %6d rollbacks\n",
				run.N, p.name, c.HostPct, c.StealPct, c.BenchPct, c.PgbenchPct, d.CommitsPerSec, d.Rollbacks)
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

// groupCommitText says how the ledger's group commit was set.
func groupCommitText(moveBatch, moveLanes int) string {
	if moveBatch == 1 {
		return "group commit off (--move-batch 1)"
	}
	if moveBatch <= 0 {
		moveBatch = cockroach.DefaultMoveBatch
	}
	if moveLanes <= 0 {
		moveLanes = cockroach.DefaultMoveLanes
	}
	return fmt.Sprintf("group commit of up to %d moves per transaction, %d at once", moveBatch, moveLanes)
}

// movesText is what group commit did in a ledger phase; empty when it was off.
func movesText(m cockroach.MoveStats) string {
	if m.Batched+m.Alone == 0 {
		return ""
	}
	perBatch := 0.0
	if m.Batches > 0 {
		perBatch = float64(m.Batched) / float64(m.Batches)
	}
	return fmt.Sprintf("  moves: %.1f%% in batches of %.1f on average", 100*float64(m.Batched)/float64(m.Batched+m.Alone), perBatch)
}
