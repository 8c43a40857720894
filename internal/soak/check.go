package soak

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

// Check is one property the soak verifies once the run is settled.
type Check struct {
	Name       string   `json:"name"`
	Violations int      `json:"violations"`
	Examples   []string `json:"examples,omitempty"` // the first few violations
}

// Passed reports whether nothing broke the property.
func (c Check) Passed() bool { return c.Violations == 0 }

// maxExamples bounds the violations a check lists.
const maxExamples = 8

// fail records one violation of c.
func (c *Check) fail(format string, args ...any) {
	c.Violations++
	if len(c.Examples) < maxExamples {
		c.Examples = append(c.Examples, fmt.Sprintf(format, args...))
	}
}

// check verifies every property and returns the checks, in the order the
// report shows them.
func (s *Soak) check(ctx context.Context) []Check {
	ops, _, _ := s.rec.snapshot()
	checks := []Check{s.checkAnswers(ops, classInternal, "no INTERNAL answer"),
		s.checkAnswers(ops, classUnexpected, "no unexpected answer (a refusal the workload never provokes)"),
		checkSettled(ops), s.checkInstances()}
	journal := s.checkJournal(ctx)
	b, err := s.readBooks(ctx)
	if err != nil {
		c := Check{Name: "the books can be read"}
		c.fail("%v", err)
		return append(checks, journal, c)
	}
	return append(checks, journal, checkBookRules(b), checkExactlyOnce(ops, b), checkNothingDone(ops),
		checkBalances(ops, b), checkHolds(ops, b), checkSubscriptions(ops, b), s.checkServerBalances(ctx, b))
}

// checkAnswers counts the answers of class c, in the run and in the replays.
func (s *Soak) checkAnswers(ops []*op, c class, name string) Check {
	out := Check{Name: name}
	for _, o := range ops {
		for _, a := range o.attempts {
			if a.answer.class == c {
				out.fail("%s %s: %s from ledgerd %d", o.kind, o.id, a.answer.name, a.instance)
			}
		}
	}
	return out
}

func checkSettled(ops []*op) Check {
	c := Check{Name: "every unknown outcome settled by replay"}
	for _, o := range ops {
		if o.outcome == classUnknown {
			c.fail("%s %s: still unknown after its replays (last answer %s)", o.kind, o.id, o.attempts[len(o.attempts)-1].answer.name)
		}
	}
	return c
}

func (s *Soak) checkInstances() Check {
	c := Check{Name: "no ledgerd exited by itself"}
	for _, in := range s.instances {
		in.mu.Lock()
		for _, msg := range in.surprises {
			c.fail("%s", msg)
		}
		in.mu.Unlock()
	}
	return c
}

func checkBookRules(b *books) Check {
	c := Check{Name: "the books obey every rule (double entry, conservation, no customer below zero, no promo oversold)"}
	for _, f := range b.broken {
		c.fail("%d %s", f.Count, f.What)
	}
	return c
}

// checkExactlyOnce holds the ledger to its answers: every request it did
// has exactly the entries it reported, every other request none, and no
// entry is left that no answer accounts for.
func checkExactlyOnce(ops []*op, b *books) Check {
	c := Check{Name: "every acknowledged request applied exactly once, and nothing else"}
	claimed := map[string]bool{} // request ids whose entries an op accounts for, or reported above
	for _, o := range ops {
		if o.outcome != classDone {
			claimed[o.id] = true
			if got := b.entries[o.id]; len(got) > 0 {
				c.fail("%s %s was answered %s (%s), but the books hold entries %v", o.kind, o.id, o.outcome, lastAnswer(o), got)
			}
			continue
		}
		for _, e := range o.res.entries {
			claimed[e.requestID] = true
			if got := b.entries[e.requestID]; len(got) != 1 || got[0] != e.entryID {
				c.fail("%s %s was acknowledged with entry %s, but the books hold %v", o.kind, o.id, e.entryID, got)
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(b.entries)) {
		if !claimed[id] {
			c.fail("request %s has entries %v that no request of the soak accounts for", id, b.entries[id])
		}
	}
	return c
}

// checkNothingDone holds the answers that promise nothing was done
// (DATABASE_UNAVAILABLE, a bulkhead's, a refusal) to it. A request that
// was done carries the time the ledger did it, by the clock of this
// machine, which the soak and every ledgerd share; the call in flight at
// that time is the one that did it. If that call's answer said nothing
// was done, and no earlier call left the outcome open (work it started
// may finish later), the answer was false.
func checkNothingDone(ops []*op) Check {
	c := Check{Name: "every answer that said nothing was done was true"}
	for _, o := range ops {
		if o.outcome != classDone || o.res.at.IsZero() {
			continue
		}
		in := -1 // the last call sent before the ledger did it
		for i, a := range o.attempts {
			if !a.sent.After(o.res.at) {
				in = i
			}
		}
		if in < 0 {
			c.fail("%s %s: done at %s, before it was first sent at %s", o.kind, o.id,
				o.res.at.Format(time.RFC3339Nano), o.attempts[0].sent.Format(time.RFC3339Nano))
			continue
		}
		open := false
		for _, a := range o.attempts[:in] {
			open = open || a.answer.class == classUnknown || a.answer.class == classInternal
		}
		if a := o.attempts[in]; !open && a.answer.class != classDone && a.answer.class != classUnknown &&
			a.answer.class != classInternal {
			c.fail("%s %s: done at %s, by call %d, which answered %s", o.kind, o.id,
				o.res.at.Format(time.RFC3339Nano), in+1, a.answer.name)
		}
	}
	return c
}

// checkBalances compares every account's balance with the sum of what
// the acknowledged requests posted.
func checkBalances(ops []*op, b *books) Check {
	c := Check{Name: "every balance equals the sum of the acknowledged requests"}
	want := map[string]int64{}
	for _, o := range ops {
		if o.outcome == classDone {
			for _, p := range o.effect(o.res) {
				want[p.account] += p.amount
			}
		}
	}
	accounts := map[string]bool{}
	for a := range want {
		accounts[a] = true
	}
	for a := range b.balances {
		accounts[a] = true
	}
	for _, a := range slices.Sorted(maps.Keys(accounts)) {
		if want[a] != b.balances[a] {
			c.fail("%s: the books say %d, the acknowledged requests %d", a, b.balances[a], want[a])
		}
	}
	return c
}

// checkHolds holds every hold to its placement and its capture or void.
func checkHolds(ops []*op, b *books) Check {
	c := Check{Name: "every hold as its acknowledged placement, capture or void left it"}
	want := map[string]bookHold{} // by hold id
	var placed []*op
	for _, o := range ops {
		if o.kind == "hold" {
			placed = append(placed, o)
		}
	}
	for _, o := range placed {
		id, done := b.holdReqs[o.id], o.outcome == classDone
		switch {
		case done && id != o.res.holdID:
			c.fail("hold %s was acknowledged as %s, but the books have %q", o.id, o.res.holdID, id)
		case !done && id != "":
			c.fail("hold %s was answered %s (%s), but the books have hold %s", o.id, o.outcome, lastAnswer(o), id)
		case done:
			want[id] = bookHold{requestID: o.id, status: "ACTIVE"}
		}
	}
	for _, o := range ops {
		if o.outcome != classDone || (o.kind != "capture" && o.kind != "void") {
			continue
		}
		h := want[o.res.holdID]
		h.status = "VOIDED"
		if o.kind == "capture" {
			h.status, h.captured = "CAPTURED", -o.effect(o.res)[0].amount
		}
		want[o.res.holdID] = h
	}
	for _, id := range slices.Sorted(maps.Keys(want)) {
		w, got := want[id], b.holds[id]
		if got.status != w.status || (w.status == "CAPTURED" && got.captured != w.captured) {
			c.fail("hold %s: the books say %s (captured %d), the acknowledgements %s (captured %d)",
				id, got.status, got.captured, w.status, w.captured)
		}
	}
	return c
}

// checkSubscriptions holds every promo's subscriptions to the
// acknowledged ones.
func checkSubscriptions(ops []*op, b *books) Check {
	c := Check{Name: "every promo subscription acknowledged, and only those"}
	done := map[string]bool{}
	for _, o := range ops {
		if o.kind != "subscribe" {
			continue
		}
		got, ok := b.subs[o.id]
		switch {
		case o.outcome == classDone && (!ok || got.account != o.res.account):
			c.fail("subscription %s was acknowledged into %s, but the books have %+v", o.id, o.res.account, got)
		case o.outcome != classDone && ok:
			c.fail("subscription %s was answered %s (%s), but the books have it", o.id, o.outcome, lastAnswer(o))
		}
		done[o.id] = o.outcome == classDone
	}
	for id := range b.subs {
		if !done[id] {
			c.fail("subscription %s is in the books, but no answer acknowledged it", id)
		}
	}
	return c
}

// checkServerBalances asks a server for every customer's balance: the
// same posted balance as the books, and never less than zero available.
func (s *Soak) checkServerBalances(ctx context.Context, b *books) Check {
	c := Check{Name: "no customer below zero available, as the ledger reports it"}
	for _, acct := range s.world.accounts {
		res, err := s.instances[0].acct.GetBalance(ctx, &ledgerv1.GetBalanceRequest{AccountId: acct})
		switch {
		case err != nil:
			c.fail("balance of %s: %v", acct, err)
		case res.GetBalance().GetAvailable() < 0:
			c.fail("%s: %d available", acct, res.GetBalance().GetAvailable())
		case res.GetBalance().GetPosted() != b.balances[acct]:
			c.fail("%s: the server says %d posted, the books %d", acct, res.GetBalance().GetPosted(), b.balances[acct])
		}
	}
	return c
}

func lastAnswer(o *op) string {
	if len(o.attempts) == 0 {
		return "never sent"
	}
	return o.attempts[len(o.attempts)-1].answer.name
}
