package storm

import (
	"encoding/json"
	"io"
	"math"
	"time"
)

// Report is the result of a storm: its settings and every run.
type Report struct {
	Started  time.Time    `json:"started"`
	Settings ReportConfig `json:"settings"`
	Runs     []*RunReport `json:"runs"`
}

// ReportConfig is the part of Config that shapes the figures.
type ReportConfig struct {
	Server       string   `json:"server,omitempty"` // empty: in-process ledgerd, fresh database per run
	BaselineS    float64  `json:"baseline_s"`
	StormS       float64  `json:"storm_s"`
	RecoveryS    float64  `json:"recovery_s"`
	DeadlineMs   float64  `json:"deadline_ms"`
	Accounts     int      `json:"accounts"`
	Rates        Rates    `json:"rates_per_s"`
	PromoQuota   int      `json:"promo_quota"`
	PromoDBDelay float64  `json:"promo_db_delay_ms"`
	Limits       []string `json:"limits,omitempty"`
	// Outside: each run's ledgerd was its own process, the load from
	// another; Control: the baseline carried a control flood at the
	// flood's rate to the health service.
	Outside    bool `json:"ledgerd_outside,omitempty"`
	Control    bool `json:"control_flood_in_baseline,omitempty"`
	PromoConns int  `json:"promo_connections"`
	Slices     int  `json:"slices,omitempty"`
}

// MarshalJSON names the rates in the JSON.
func (r Rates) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]float64{"transfer": r.Transfer, "withdraw": r.Withdraw, "hold_capture": r.Hold,
		"balance": r.Balance, "promo_flood": r.Flood, "promo_trickle": r.Trickle})
}

func reportConfig(c Config) ReportConfig {
	return ReportConfig{Server: c.Server, BaselineS: c.Baseline.Seconds(), StormS: c.Storm.Seconds(),
		RecoveryS: c.Recovery.Seconds(), DeadlineMs: ms(c.Deadline), Accounts: c.Accounts, Rates: c.Rates,
		PromoQuota: c.PromoQuota, PromoDBDelay: ms(c.PromoDBDelay), Limits: c.Limits,
		Outside: c.Ledgerd != "", Control: c.Control, PromoConns: c.PromoConns, Slices: c.Slices}
}

// RunReport is one storm against one server layout.
type RunReport struct {
	Label     string `json:"label"` // "bulkheads on" or "bulkheads off"
	Bulkheads bool   `json:"bulkheads"`
	// Outside is set when ledgerd ran as its own process; Control when the
	// baseline carried the control flood, so that RoutineP99Ratio is the
	// promo flood's over the control flood's.
	Outside bool `json:"outside,omitempty"`
	Control bool `json:"control,omitempty"`
	// Compartment is the one serving Subscribe, whose breaker is watched.
	Compartment string        `json:"compartment"`
	PhaseSpans  []PhaseSpan   `json:"phases"`
	Classes     []ClassReport `json:"classes"`
	Breaker     []Transition  `json:"breaker_transitions"`
	NotClosed   []Span        `json:"breaker_not_closed"`
	// WatchPolls and WatchFailures count ListCompartments polls and the
	// ones that got no answer.
	WatchPolls    int `json:"watch_polls"`
	WatchFailures int `json:"watch_failures"`
	// PromoSold is how many subscriptions the promo sold, of PromoQuota;
	// -1 if it could not be read.
	PromoSold int64 `json:"promo_sold"`
	// RoutineP99Ratio is the routine class's p99 in the storm over its p99
	// in the baseline.
	RoutineP99Ratio float64  `json:"routine_p99_storm_over_baseline"`
	Targets         []Target `json:"targets"`
	// CPU is the machine's CPU use, second by second.
	CPU []CPUSecond `json:"cpu"`
	// Retries counts, for an in-process ledgerd, the transactions each
	// compartment retried after a serialization failure, per phase
	// (baseline, storm, recovery): where the classes meet in the database.
	Retries map[string][3]int64 `json:"db_retries_by_phase,omitempty"`
}

// PhaseSpan places a phase in a run.
type PhaseSpan struct {
	Phase Phase   `json:"phase"`
	FromS float64 `json:"from_s"`
	ToS   float64 `json:"to_s"`
}

// ClassReport is what one traffic class saw, per phase and per second.
type ClassReport struct {
	Class   Class        `json:"class"`
	Phases  []PhaseStats `json:"phases"`
	Seconds []Second     `json:"seconds"`
}

// PhaseStats are a class's figures over one phase.
type PhaseStats struct {
	Phase Phase `json:"phase"`
	Stats
}

// Stats summarise requests by their scheduled time. Latencies are of
// every answered request, success or error, from its scheduled time.
type Stats struct {
	Requests    int64   `json:"requests"`
	OK          int64   `json:"ok"`
	SuccessRate float64 `json:"success_rate"` // OK/Requests; 1 when there were none
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	P999Ms      float64 `json:"p99_9_ms"`
	MaxMs       float64 `json:"max_ms"`
	// Errors counts every other outcome: "CODE:REASON" with the
	// ErrorInfo reason when the answer had one, "CODE" otherwise, and
	// DROPPED for requests the generator could not send.
	Errors map[string]int64 `json:"errors,omitempty"`
	// Shed counts RESOURCE_EXHAUSTED and UNAVAILABLE answers; RetryAdvised
	// those of them that carried RetryInfo.
	Shed         int64 `json:"shed"`
	RetryAdvised int64 `json:"retry_advised"`
}

// Second is a class's figures for requests scheduled in one second.
type Second struct {
	T        int     `json:"t"`
	Requests int64   `json:"requests"`
	OK       int64   `json:"ok"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
}

// Target is one of the storm's goals and whether the run met it.
type Target struct {
	Name     string `json:"name"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

func statsOf(t *tally) Stats {
	s := Stats{Requests: t.requests, OK: t.ok, SuccessRate: 1, Shed: t.shed, RetryAdvised: t.advised}
	if t.requests > 0 {
		s.SuccessRate = float64(t.ok) / float64(t.requests)
	}
	if len(t.outcomes) > 0 {
		s.Errors = t.outcomes
	}
	if t.hist.TotalCount() > 0 {
		q := func(p float64) float64 { return float64(t.hist.ValueAtQuantile(p)) / 1000 }
		s.P50Ms, s.P99Ms, s.P999Ms, s.MaxMs = q(50), q(99), q(99.9), float64(t.hist.Max())/1000
	}
	return s
}

// summarize turns a run's recordings into its report.
func summarize(cfg Config, rec *recorder, w *watch, end time.Duration) *RunReport {
	r := &RunReport{Bulkheads: w.bulkheads, Compartment: w.compartment, Breaker: w.transitions,
		NotClosed: notClosed(w.transitions, end.Seconds()), WatchPolls: w.polls, WatchFailures: w.failures}
	r.Label = "bulkheads off"
	if r.Bulkheads {
		r.Label = "bulkheads on"
	}
	for _, s := range cfg.spans() {
		r.PhaseSpans = append(r.PhaseSpans, PhaseSpan{Phase: Phases[s.phase], FromS: s.from.Seconds(), ToS: s.to.Seconds()})
	}
	for _, c := range cfg.classes() {
		s := rec.class[c]
		cr := ClassReport{Class: c}
		for i, t := range s.phases {
			cr.Phases = append(cr.Phases, PhaseStats{Phase: Phases[i], Stats: statsOf(t)})
		}
		for i, t := range s.seconds {
			st := statsOf(t)
			cr.Seconds = append(cr.Seconds, Second{T: i, Requests: st.Requests, OK: st.OK, P50Ms: st.P50Ms, P99Ms: st.P99Ms})
		}
		r.Classes = append(r.Classes, cr)
	}
	base, storm := r.stats(Routine, Baseline), r.stats(Routine, Storm)
	if base.P99Ms > 0 {
		r.RoutineP99Ratio = storm.P99Ms / base.P99Ms
	}
	return r
}

// baselineName is what the baseline phase was: "control flood" when it
// carried one.
func (r *RunReport) baselineName() string {
	if r.Control {
		return "control flood"
	}
	return "baseline"
}

// stats returns class c's figures for phase p.
func (r *RunReport) stats(c Class, p Phase) Stats {
	for _, cr := range r.Classes {
		if cr.Class == c {
			for _, ps := range cr.Phases {
				if ps.Phase == p {
					return ps.Stats
				}
			}
		}
	}
	return Stats{}
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// round3 keeps three decimals, for JSON that people read.
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
