package soak

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/corebanking/ledger/internal/bench"
)

// Report is what a soak did and saw, and its verdict.
type Report struct {
	Seed       uint64            `json:"seed"`
	Duration   time.Duration     `json:"duration"` // of the workload under faults
	Instances  int               `json:"instances"`
	Workers    int               `json:"workers"`
	Database   string            `json:"database"`
	Date       time.Time         `json:"date"`
	Machine    bench.Machine     `json:"machine"`
	FaultKinds []string          `json:"fault_kinds"`
	Faults     map[string]int    `json:"faults"` // by kind
	FaultLog   []fault           `json:"fault_log"`
	Calls      map[string]int64  `json:"calls"`   // the run's calls, by answer
	Replays    map[string]int64  `json:"replays"` // the settling replays', by answer
	Requests   map[string]counts `json:"requests"`
	Settlement Settlement        `json:"settlement"`
	Checks     []Check           `json:"checks"`
	Passed     bool              `json:"passed"`
}

// counts are one kind of request's outcomes.
type counts struct {
	Sent    int `json:"sent"`
	Done    int `json:"done"`
	Refused int `json:"refused"`
	NotDone int `json:"not_done"` // given up after answers that promised nothing was done
	Settled int `json:"settled"`  // outcome learned by a replay after the run
	Left    int `json:"left"`     // outcome never learned
}

func (s *Soak) report(ran time.Duration, kinds []string, st Settlement, checks []Check) *Report {
	ops, calls, replays := s.rec.snapshot()
	r := &Report{Seed: s.cfg.Seed, Duration: ran, Instances: len(s.instances), Workers: s.cfg.Workers,
		Date: time.Now().UTC(), FaultKinds: kinds, Faults: s.nemesis.counts(), FaultLog: s.nemesis.log,
		Calls: calls, Replays: replays, Requests: map[string]counts{}, Settlement: st, Checks: checks, Passed: true}
	r.Database = "PostgreSQL of its own"
	if !s.db.embedded() {
		r.Database = "given (--database-url)"
	}
	r.Machine = bench.ProbeMachine(context.Background(), s.db.url)
	for _, o := range ops {
		c := r.Requests[o.kind]
		c.Sent++
		switch o.outcome {
		case classDone:
			c.Done++
		case classRefused, classUnexpected:
			c.Refused++
		case classNotDone:
			c.NotDone++
		default:
			c.Left++
		}
		if o.settled {
			c.Settled++
		}
		r.Requests[o.kind] = c
	}
	for _, c := range checks {
		r.Passed = r.Passed && c.Passed()
	}
	return r
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) {
	m := r.Machine
	faulty := "under faults"
	if len(r.FaultKinds) == 0 {
		faulty = "without faults"
	}
	fmt.Fprintf(w, "ledger-soak: seed %d, %v %s, %d ledgerd, %d clients, %s\n", r.Seed,
		r.Duration.Round(time.Second), faulty, r.Instances, r.Workers, r.Database)
	fmt.Fprintf(w, "machine: %d CPUs, %s, %.1f GiB, %s, %s, PostgreSQL %s; %s\n", m.CPUs, m.CPUModel, m.MemGiB,
		m.Kernel, m.Go, m.Postgres, r.Date.Format("2006-01-02 15:04 MST"))
	total := 0
	var parts []string
	for _, k := range r.FaultKinds {
		total += r.Faults[k]
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Faults[k]))
	}
	fmt.Fprintf(w, "\nfaults: %d (%s)\n", total, strings.Join(parts, ", "))
	fmt.Fprintf(w, "calls by answer: %s\n", byCount(r.Calls))
	fmt.Fprintf(w, "replays after the run by answer: %s\n", byCount(r.Replays))
	fmt.Fprintf(w, "\n%-13s %8s %8s %8s %9s %8s %5s\n", "requests", "sent", "done", "refused", "not done", "settled", "left")
	for _, k := range slices.Sorted(maps.Keys(r.Requests)) {
		c := r.Requests[k]
		fmt.Fprintf(w, "%-13s %8d %8d %8d %9d %8d %5d\n", k, c.Sent, c.Done, c.Refused, c.NotDone, c.Settled, c.Left)
	}
	st := r.Settlement
	fmt.Fprintf(w, "\nunknown outcomes at the end of the run: %d; settled by replay: %d done, %d refused; left unknown: %d\n",
		st.Unknown, st.Done, st.Refused, st.Left)
	fmt.Fprintln(w, "\nchecks:")
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.Passed() {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %s", mark, c.Name)
		if !c.Passed() {
			fmt.Fprintf(w, ": %d violations", c.Violations)
		}
		fmt.Fprintln(w)
		for _, e := range c.Examples {
			fmt.Fprintf(w, "         %s\n", e)
		}
	}
	verdict := "PASS"
	if !r.Passed {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\nverdict: %s (replay with --seed %d)\n", verdict, r.Seed)
}

// byCount lists counts, largest first.
func byCount(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		if m[a] != m[b] {
			return int(m[b] - m[a])
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
