package storm

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// WriteTable prints the runs side by side: per class and phase the
// requests, success rate and latency, then errors, breaker transitions,
// the routine p99 ratio and the targets.
func (r *Report) WriteTable(w io.Writer) {
	r.writeSettings(w)
	r.writeLatency(w)
	r.writeErrors(w)
	r.writePerRun(w)
	r.writeCPU(w)
	r.writeTargets(w)
}

// writeSettings prints the storm's shape: phases, rates and layout.
func (r *Report) writeSettings(w io.Writer) {
	s := r.Settings
	fmt.Fprintf(w, "storm: baseline %gs, storm %gs (promo flood %g/s), recovery %gs; deadline %gms; %d accounts; promo quota %d",
		s.BaselineS, s.StormS, s.Rates.Flood, s.RecoveryS, s.DeadlineMs, s.Accounts, s.PromoQuota)
	if s.PromoDBDelay > 0 {
		fmt.Fprintf(w, "; promo db delay %gms", s.PromoDBDelay)
	}
	fmt.Fprintf(w, "; %d promo connections", s.PromoConns)
	if s.Outside {
		fmt.Fprint(w, "; ledgerd in its own process")
	}
	if s.Control {
		fmt.Fprintf(w, "\nthe baseline carries the control flood: %g health checks/s on the promo connections", s.Rates.Flood)
		if s.Slices > 1 {
			fmt.Fprintf(w, "; baseline and storm alternate in %d slices each", s.Slices)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "latency: every answered request, from its scheduled send time, in ms")
	fmt.Fprintln(w)
}

// writeLatency prints, per class and phase, each run's requests, success
// rate and latency percentiles, the runs side by side.
func (r *Report) writeLatency(w io.Writer) {
	const cell = "| %8s %8s %7s %7s %7s "
	fmt.Fprintf(w, "%-8s %-9s", "", "")
	for _, run := range r.Runs {
		fmt.Fprintf(w, "| %-40s ", run.Label)
	}
	fmt.Fprintf(w, "\n%-8s %-9s", "class", "phase")
	for range r.Runs {
		fmt.Fprintf(w, cell, "requests", "ok", "p50", "p99", "p99.9")
	}
	fmt.Fprintln(w)
	for _, c := range r.classes() {
		for _, p := range Phases {
			fmt.Fprintf(w, "%-8s %-9s", c, p)
			for _, run := range r.Runs {
				st := run.stats(c, p)
				fmt.Fprintf(w, cell, fmt.Sprint(st.Requests), percent(st.SuccessRate),
					millis(st.P50Ms), millis(st.P99Ms), millis(st.P999Ms))
			}
			fmt.Fprintln(w)
		}
	}
}

// writeErrors prints, per class and phase, each run's errors by reason.
func (r *Report) writeErrors(w io.Writer) {
	fmt.Fprintln(w, "\nerrors by reason (or code):")
	for _, c := range r.classes() {
		for _, p := range Phases {
			for i, run := range r.Runs {
				head := ""
				if i == 0 {
					head = fmt.Sprintf("%s %s", c, p)
				}
				fmt.Fprintf(w, "  %-18s %-14s %s\n", head, run.Label+":", errorList(run.stats(c, p).Errors))
			}
		}
	}
}

// writePerRun prints a line a run of its promo breaker's transitions,
// its database retries and its routine p99 ratio.
func (r *Report) writePerRun(w io.Writer) {
	fmt.Fprintln(w, "\nbreaker in front of PromoService.Subscribe (polled every 100ms):")
	for _, run := range r.Runs {
		fmt.Fprintf(w, "  %-14s %s\n", run.Label+":", transitions(run.Compartment, run.Breaker))
	}
	fmt.Fprintln(w, "\ndatabase transactions retried after a serialization failure, baseline / storm / recovery:")
	for _, run := range r.Runs {
		fmt.Fprintf(w, "  %-14s %s\n", run.Label+":", retryList(run.Retries))
	}
	fmt.Fprintln(w, "\nroutine p99 storm / baseline:")
	for _, run := range r.Runs {
		fmt.Fprintf(w, "  %-14s %.2fx (over the %s)\n", run.Label+":", run.RoutineP99Ratio, run.baselineName())
	}
}

// writeTargets prints each run's targets, met or missed.
func (r *Report) writeTargets(w io.Writer) {
	for _, run := range r.Runs {
		fmt.Fprintf(w, "\ntargets, %s", run.Label)
		if !run.Bulkheads {
			fmt.Fprint(w, " (the naive design: for comparison, not expected to hold)")
		}
		fmt.Fprintln(w, ":")
		for _, t := range run.Targets {
			mark := "met   "
			if !t.Met {
				mark = "MISSED"
			}
			fmt.Fprintf(w, "  [%s] %s: %s\n", mark, t.Name, t.Measured)
		}
	}
}

// classes are the classes that had requests in some run.
func (r *Report) classes() []Class {
	var out []Class
	for _, c := range append(slices.Clone(Classes), Control) {
		for _, run := range r.Runs {
			if run.stats(c, Baseline).Requests+run.stats(c, Storm).Requests+run.stats(c, Recovery).Requests > 0 {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// writeCPU prints each run's CPU use, in cores, as the median second of
// each phase: the machine, and ledgerd, PostgreSQL and the load tool when
// ledgerd ran in its own process. Every second is in the JSON.
func (r *Report) writeCPU(w io.Writer) {
	fmt.Fprintln(w, "\nCPU, cores, median second of each phase (machine; ledgerd / PostgreSQL / load tool when ledgerd ran apart):")
	for _, run := range r.Runs {
		var parts []string
		for _, phase := range Phases {
			var m, l, p, t []float64
			for _, span := range run.PhaseSpans {
				for _, s := range run.CPU {
					if span.Phase == phase && float64(s.T) >= span.FromS && float64(s.T)+1 <= span.ToS {
						m, l, p, t = append(m, s.Machine), append(l, s.Ledgerd), append(p, s.Postgres), append(t, s.Load)
					}
				}
			}
			part := fmt.Sprintf("%s %.2f", phase, median(m))
			if run.Outside {
				part += fmt.Sprintf(" (%.2f / %.2f / %.2f)", median(l), median(p), median(t))
			}
			parts = append(parts, part)
		}
		fmt.Fprintf(w, "  %-14s %s\n", run.Label+":", strings.Join(parts, "; "))
	}
}

// median returns the median of xs, 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}

// errorList renders errors as "REASON n, ...", largest first.
func errorList(errs map[string]int64) string {
	if len(errs) == 0 {
		return "-"
	}
	// A code and its reason can both shorten to the reason (a deadline the
	// client saw, and one the server reported): add them up.
	short := map[string]int64{}
	for k, n := range errs {
		short[shortReason(k)] += n
	}
	keys := slices.Collect(maps.Keys(short))
	slices.SortFunc(keys, func(a, b string) int {
		if short[a] != short[b] {
			return int(short[b] - short[a])
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, short[k])
	}
	return strings.Join(parts, ", ")
}

// shortReason turns "RESOURCE_EXHAUSTED:COMPARTMENT_SATURATED" into
// "COMPARTMENT_SATURATED"; a bare code stays as it is.
func shortReason(key string) string {
	if _, reason, ok := strings.Cut(key, ":"); ok {
		return reason
	}
	return key
}

// transitions renders a breaker's transitions, at most a dozen.
func transitions(compartment string, ts []Transition) string {
	if len(ts) == 0 {
		return compartment + ": never left closed"
	}
	var parts []string
	for i, t := range ts {
		if i == 12 {
			parts = append(parts, fmt.Sprintf("... %d more, last %s at %.1fs", len(ts)-i, ts[len(ts)-1].To, ts[len(ts)-1].AtS))
			break
		}
		parts = append(parts, fmt.Sprintf("%s at %.1fs", t.To, t.AtS))
	}
	return compartment + ": " + strings.Join(parts, ", ")
}

func percent(f float64) string {
	if f == 1 {
		return "100%"
	}
	return fmt.Sprintf("%.2f%%", 100*f)
}

// millis renders a latency with three significant figures or so.
func millis(ms float64) string {
	switch {
	case ms == 0:
		return "-"
	case ms < 10:
		return fmt.Sprintf("%.2f", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f", ms)
	}
	return fmt.Sprintf("%.0f", ms)
}

// retryList renders retries by compartment, in name order.
func retryList(byCompartment map[string][3]int64) string {
	if len(byCompartment) == 0 {
		return "not counted (a server not started here)"
	}
	names := slices.Sorted(maps.Keys(byCompartment))
	parts := make([]string, len(names))
	for i, n := range names {
		c := byCompartment[n]
		parts[i] = fmt.Sprintf("%s %d / %d / %d", n, c[0], c[1], c[2])
	}
	return strings.Join(parts, ", ")
}
