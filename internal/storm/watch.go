package storm

import (
	"context"
	"slices"
	"time"

	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// pollEvery is how often the watcher asks for the breakers' state.
const pollEvery = 100 * time.Millisecond

// Transition is a change of the promo breaker's state, as polled.
type Transition struct {
	AtS  float64 `json:"at_s"` // seconds from the start of the run
	From string  `json:"from"`
	To   string  `json:"to"`
}

// watch is what the watcher learned.
type watch struct {
	compartment string // the compartment that serves Subscribe
	bulkheads   bool
	transitions []Transition
	polls       int
	failures    int // polls that got no answer
}

// watchBreaker polls AdminService.ListCompartments until ctx is done and
// records the transitions of the breaker in front of Subscribe: the promo
// compartment's, or with bulkheads off the shared one's.
func watchBreaker(ctx context.Context, t *target, t0 time.Time) *watch {
	admin := ledgerv1.NewAdminServiceClient(t.admin)
	w := &watch{}
	state := ""
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, pollEvery)
		list, err := admin.ListCompartments(cctx, &ledgerv1.ListCompartmentsRequest{})
		cancel()
		w.polls++
		if err != nil {
			w.failures++
		} else if c := promoCompartment(list); c != nil {
			w.compartment, w.bulkheads = c.GetName(), list.GetBulkheads()
			if s := c.GetBreakerState(); s != state {
				if state != "" {
					w.transitions = append(w.transitions, Transition{AtS: time.Since(t0).Seconds(), From: state, To: s})
				}
				state = s
			}
		}
		select {
		case <-ctx.Done():
			return w
		case <-tick.C:
		}
	}
}

// promoCompartment returns the compartment that serves Subscribe.
func promoCompartment(list *ledgerv1.ListCompartmentsResponse) *ledgerv1.Compartment {
	for _, c := range list.GetCompartments() {
		if slices.Contains(c.GetMethods(), ledgerv1.PromoService_Subscribe_FullMethodName) {
			return c
		}
	}
	return nil
}

// Span is a stretch of a run in which the breaker was in one state.
type Span struct {
	FromS float64 `json:"from_s"`
	ToS   float64 `json:"to_s"`
	State string  `json:"state"`
}

// notClosed returns the spans in which the breaker was open or half-open,
// up to end seconds.
func notClosed(ts []Transition, end float64) []Span {
	var out []Span
	for i, tr := range ts {
		if tr.To == "closed" {
			continue
		}
		to := end
		if i+1 < len(ts) {
			to = ts[i+1].AtS
		}
		out = append(out, Span{FromS: tr.AtS, ToS: min(to, end), State: tr.To})
	}
	return out
}
