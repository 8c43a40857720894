package storm

import (
	"fmt"
	"strings"
)

// Goals for a run with bulkheads on; with bulkheads off the same figures
// are reported, and routine traffic is expected to suffer.
const (
	goalRoutineSuccess = 0.999
	goalRoutineRatio   = 1.5
	// goalControlRatio bounds routine p99 in the promo flood over routine
	// p99 in a control flood of the same rate, measured from outside.
	goalControlRatio = 1.2
)

// judge fills r.Targets.
func (r *RunReport) judge(quota int) {
	if r.Control {
		r.judgeControl(quota)
		return
	}
	storm := r.stats(Routine, Storm)
	r.Targets = []Target{
		{Name: fmt.Sprintf("routine success in storm >= %.1f%%", 100*goalRoutineSuccess),
			Measured: fmt.Sprintf("%.3f%% of %d", 100*storm.SuccessRate, storm.Requests),
			Met:      storm.Requests > 0 && storm.SuccessRate >= goalRoutineSuccess},
		{Name: fmt.Sprintf("routine p99 storm <= %.1fx baseline", goalRoutineRatio),
			Measured: fmt.Sprintf("%.2fx (%.1f ms / %.1f ms)", r.RoutineP99Ratio, storm.P99Ms, r.stats(Routine, Baseline).P99Ms),
			Met:      r.RoutineP99Ratio > 0 && r.RoutineP99Ratio <= goalRoutineRatio},
		r.breakerTarget(),
		r.promoAnswersTarget(),
		{Name: "promo never sold beyond its quota",
			Measured: fmt.Sprintf("%d of %d sold", r.PromoSold, quota),
			Met:      r.PromoSold >= 0 && r.PromoSold <= int64(quota)},
		{Name: "promo sold out during the run",
			Measured: fmt.Sprintf("%d of %d sold, %d answered PROMO_SOLD_OUT", r.PromoSold, quota, r.soldOutAnswers()),
			Met:      r.PromoSold == int64(quota)},
	}
}

// judgeControl fills r.Targets of a run with a control flood: routine
// traffic loses nothing in the promo flood, and its p99 there is within
// goalControlRatio of its p99 in the control flood. The promo does real
// database work and is not meant to sell out or trip its breaker.
func (r *RunReport) judgeControl(quota int) {
	storm := r.stats(Routine, Storm)
	dropped := storm.Errors[outcomeDropped]
	sent := storm.Requests - dropped
	r.Targets = []Target{
		{Name: "routine success in the promo flood = 100% (requests the load tool did not send left out)",
			Measured: fmt.Sprintf("%d of %d ok; %d not sent", storm.OK, sent, dropped),
			Met:      sent > 0 && storm.OK == sent},
		{Name: fmt.Sprintf("routine p99 promo flood <= %.1fx control flood", goalControlRatio),
			Measured: fmt.Sprintf("%.2fx (%.1f ms / %.1f ms)", r.RoutineP99Ratio, storm.P99Ms, r.stats(Routine, Baseline).P99Ms),
			Met:      r.RoutineP99Ratio > 0 && r.RoutineP99Ratio <= goalControlRatio},
		r.promoAnswersTarget(),
		{Name: "promo never sold beyond its quota",
			Measured: fmt.Sprintf("%d of %d sold", r.PromoSold, quota),
			Met:      r.PromoSold >= 0 && r.PromoSold <= int64(quota)},
	}
}

// breakerTarget: the breaker in front of Subscribe opens during the storm
// and is closed again by the end of the run.
func (r *RunReport) breakerTarget() Target {
	s0, s1 := r.PhaseSpans[1].FromS, r.PhaseSpans[1].ToS
	opened := false
	var times []string
	for _, tr := range r.Breaker {
		times = append(times, fmt.Sprintf("%s at %.1fs", tr.To, tr.AtS))
		if tr.To == "open" && tr.AtS >= s0 && tr.AtS <= s1+1 {
			opened = true
		}
	}
	closed := len(r.Breaker) == 0 || r.Breaker[len(r.Breaker)-1].To == "closed"
	measured := "never left closed"
	if len(times) > 0 {
		measured = strings.Join(times, ", ")
	}
	return Target{Name: r.Compartment + " breaker opens in the storm and closes after", Measured: measured, Met: opened && closed}
}

// promoAnswersTarget: promo callers are told to come back (RESOURCE_EXHAUSTED
// or UNAVAILABLE, with RetryInfo) or that the promo is sold out or already
// theirs, never INTERNAL or UNKNOWN.
func (r *RunReport) promoAnswersTarget() Target {
	var shed, advised, internal int64
	for _, p := range Phases {
		s := r.stats(Promo, p)
		shed, advised = shed+s.Shed, advised+s.RetryAdvised
		for k, n := range s.Errors {
			if strings.HasPrefix(k, "INTERNAL") || strings.HasPrefix(k, "UNKNOWN") {
				internal += n
			}
		}
	}
	return Target{Name: "promo callers shed with retry advice, never INTERNAL",
		Measured: fmt.Sprintf("%d of %d shed carried RetryInfo; %d INTERNAL/UNKNOWN", advised, shed, internal),
		Met:      advised == shed && internal == 0}
}

// soldOutAnswers counts the promo calls answered PROMO_SOLD_OUT.
func (r *RunReport) soldOutAnswers() int64 {
	var n int64
	for _, p := range Phases {
		for k, v := range r.stats(Promo, p).Errors {
			if strings.HasSuffix(k, ":PROMO_SOLD_OUT") {
				n += v
			}
		}
	}
	return n
}
