package soak

import (
	"strings"
	"testing"
	"time"
)

// t0 is an arbitrary instant the crafted calls are timed from.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// call is an attempt sent at t0+from and answered at t0+to.
func call(from, to time.Duration, a answer) attempt {
	return attempt{sent: t0.Add(from), got: t0.Add(to), answer: a}
}

var (
	ok        = answer{name: "OK", class: classDone}
	dbDown    = answer{name: "DATABASE_UNAVAILABLE", class: classNotDone}
	lost      = answer{name: "OUTCOME_UNKNOWN", class: classUnknown}
	broke     = answer{name: "Unavailable (transport)", class: classUnknown}
	tooPoor   = answer{name: "INSUFFICIENT_FUNDS", class: classRefused}
	ms        = time.Millisecond
	noPosting = func(result) []posting { return nil }
)

// transferDone is a transfer of 5 from a to b, done at t0+at after calls.
func transferDone(id, entry string, at time.Duration, calls ...attempt) *op {
	return &op{id: id, kind: "transfer", attempts: calls, outcome: classDone,
		res:    result{entries: []entryRef{{id, entry}}, at: t0.Add(at)},
		effect: func(result) []posting { return []posting{{"a", -5}, {"b", 5}} }}
}

// assertViolations fails unless c has exactly want violations, each
// example containing one of mentions.
func assertViolations(t *testing.T, c Check, want int, mentions ...string) {
	t.Helper()
	if c.Violations != want {
		t.Fatalf("%s: %d violations %v, want %d", c.Name, c.Violations, c.Examples, want)
	}
	for _, m := range mentions {
		found := false
		for _, e := range c.Examples {
			found = found || strings.Contains(e, m)
		}
		if !found {
			t.Errorf("%s: no violation mentions %q: %v", c.Name, m, c.Examples)
		}
	}
}

func TestCheckNothingDone(t *testing.T) {
	ops := []*op{
		// Done by its first call: fine.
		transferDone("plain", "e1", 5*ms, call(0, 10*ms, ok)),
		// Refused for want of the database, done by the retry: fine.
		transferDone("retried", "e2", 35*ms, call(0, 10*ms, dbDown), call(30*ms, 40*ms, ok)),
		// The first call's outcome was lost, and it committed later, during
		// a call that truly did nothing: fine, the earlier call did it.
		transferDone("late", "e3", 45*ms, call(0, 10*ms, lost), call(40*ms, 50*ms, dbDown), call(60*ms, 70*ms, ok)),
		// Done while a call that answered DATABASE_UNAVAILABLE was in flight,
		// with nothing earlier left open: that answer was false.
		transferDone("lied", "e4", 5*ms, call(0, 10*ms, dbDown), call(30*ms, 40*ms, ok)),
		// Done after a refusal, before the retry was sent: false too.
		transferDone("after", "e5", 20*ms, call(0, 10*ms, tooPoor), call(30*ms, 40*ms, ok)),
		// A broken connection leaves it open: fine.
		transferDone("broken", "e6", 5*ms, call(0, 10*ms, broke), call(30*ms, 40*ms, ok)),
		// Stamped before it was ever sent: a clock the soak cannot trust.
		transferDone("early", "e7", -5*ms, call(0, 10*ms, ok)),
	}
	assertViolations(t, checkNothingDone(ops), 3, "lied", "after", "early")
}

func TestCheckExactlyOnce(t *testing.T) {
	refused := &op{id: "refused", kind: "transfer", outcome: classRefused, attempts: []attempt{call(0, ms, tooPoor)}, effect: noPosting}
	gaveUp := &op{id: "gave-up", kind: "transfer", outcome: classNotDone, attempts: []attempt{call(0, ms, dbDown)}, effect: noPosting}
	ops := []*op{
		transferDone("once", "e1", 0, call(0, ms, ok)),
		transferDone("twice", "e2", 0, call(0, ms, ok)),
		transferDone("lost", "e3", 0, call(0, ms, ok)),
		transferDone("other", "e4", 0, call(0, ms, ok)),
		refused, gaveUp,
	}
	b := &books{entries: map[string][]string{
		"once":     {"e1"},
		"twice":    {"e2", "e2b"},
		"other":    {"e4b"},
		"gave-up":  {"e5"},
		"stranger": {"e6"},
	}}
	assertViolations(t, checkExactlyOnce(ops, b), 5, "twice", "lost", "other", "gave-up", "stranger")
}

func TestCheckBalances(t *testing.T) {
	ops := []*op{transferDone("t1", "e1", 0, call(0, ms, ok)), transferDone("t2", "e2", 0, call(0, ms, ok))}
	good := &books{balances: map[string]int64{"a": -10, "b": 10}}
	assertViolations(t, checkBalances(ops, good), 0)
	bad := &books{balances: map[string]int64{"a": -5, "b": 10, "c": 3}}
	assertViolations(t, checkBalances(ops, bad), 2, "a:", "c:")
}

// The sale moves to the next promo once every customer has sent one to the
// promo on sale, and hands out the creation of each promo once.
func TestNextSubscriber(t *testing.T) {
	w := newWorld(3)
	p, _, _, create := w.nextSubscriber(0, false)
	if create == nil || p != 0 {
		t.Fatalf("first call: promo %d, create %v; want promo 0 to be created", p, create)
	}
	if p, _, _, create := w.nextSubscriber(0, false); p != -1 || create != nil {
		t.Fatalf("while promo 0 is being created: promo %d, create %v; want to wait", p, create)
	}
	w.created(0, true)
	seen := map[int]bool{}
	for range 3 {
		p, id, i, create := w.nextSubscriber(1, false)
		if p != 0 || create != nil || id != "soak-promo-0000" || seen[i] {
			t.Fatalf("subscriber: promo %d (%s), customer %d (seen %v), create %v", p, id, i, seen, create)
		}
		seen[i] = true
	}
	if p, _, i, _ := w.nextSubscriber(2, true); p != 0 || !seen[i] {
		t.Fatalf("a second subscription: promo %d, customer %d; want one who sent one", p, i)
	}
	w.soldOut(0)
	if p, _, _, create := w.nextSubscriber(0, false); p != 1 || create == nil || create.GetPromoId() != "soak-promo-0001" {
		t.Fatalf("after sold out: promo %d, create %v; want promo 1 to be created", p, create)
	}
}
