package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// The kinds of fault the nemesis injects.
const (
	FaultKillLedgerd = "kill-ledgerd" // SIGKILL of one instance, restarted after a pause
	FaultDBCrash     = "db-crash"     // every database process killed, or an immediate shutdown; then recovery
	FaultDBFreeze    = "db-freeze"    // every database process stopped (SIGSTOP), then resumed
	FaultNetSlow     = "net-slow"     // latency added to the database connections of one instance or all
	FaultNetDrop     = "net-drop"     // the database connections of one instance or all cut, new ones refused a moment
)

// FaultKinds lists every kind, in the order the report shows them.
var FaultKinds = []string{FaultKillLedgerd, FaultDBCrash, FaultDBFreeze, FaultNetSlow, FaultNetDrop}

// fault is one fault the nemesis injected and healed.
type fault struct {
	Kind   string        `json:"kind"`
	Detail string        `json:"detail"`
	At     time.Duration `json:"at"`   // since the workload began
	Took   time.Duration `json:"took"` // from injection to healed
	Err    string        `json:"error,omitempty"`
}

// nemesis injects faults one at a time, each healed before the next,
// drawn from its own seeded randomness: the same seed gives the same
// faults in the same order with the same parameters.
type nemesis struct {
	s     *Soak
	rng   *rand.Rand
	kinds []string
	every time.Duration
	start time.Time
	log   []fault
}

// run injects faults until ctx ends, then returns with every fault healed.
func (n *nemesis) run(ctx context.Context) {
	for {
		pause := n.every/2 + time.Duration(n.rng.Int64N(int64(n.every)))
		if !sleep(ctx, pause) {
			return
		}
		kind := n.kinds[n.rng.IntN(len(n.kinds))]
		f := fault{Kind: kind, At: time.Since(n.start)}
		began := time.Now()
		detail, err := n.inject(kind)
		f.Detail, f.Took = detail, time.Since(began)
		if err != nil {
			f.Err = err.Error()
		}
		n.log = append(n.log, f)
		n.s.logf("fault %3d at %6.1fs: %-12s %s (%.1fs)%s", len(n.log), f.At.Seconds(), kind, detail,
			f.Took.Seconds(), map[bool]string{true: " error: " + f.Err}[err != nil])
	}
}

// inject injects one fault of kind, waits, and heals it. Every parameter
// is drawn before anything is done, so that a failure does not change the
// draws of the faults after it.
func (n *nemesis) inject(kind string) (string, error) {
	s := n.s
	switch kind {
	case FaultKillLedgerd:
		in, down := s.instances[n.rng.IntN(len(s.instances))], n.draw(0, 2*time.Second)
		if err := in.kill(); err != nil {
			return in.String(), err
		}
		time.Sleep(down)
		return fmt.Sprintf("%s, restarted after %.1fs", in, down.Seconds()), s.restart(context.Background(), in)
	case FaultDBCrash:
		kill, down := n.rng.IntN(2) == 0, n.draw(0, 2*time.Second)
		how := map[bool]string{true: "SIGKILL of every process", false: "immediate shutdown"}[kill]
		if err := s.db.crash(kill); err != nil {
			return how, err
		}
		time.Sleep(down)
		return fmt.Sprintf("%s, recovered after %.1fs", how, down.Seconds()), s.db.start(context.Background())
	case FaultDBFreeze:
		d := n.draw(time.Second, 4*time.Second)
		if err := s.db.freeze(); err != nil {
			return "", err
		}
		time.Sleep(d)
		return fmt.Sprintf("%.1fs", d.Seconds()), s.db.thaw()
	case FaultNetSlow:
		targets, who := n.targets()
		delay, d := n.draw(20*time.Millisecond, 300*time.Millisecond), n.draw(2*time.Second, 6*time.Second)
		for _, p := range targets {
			p.slow(delay)
		}
		time.Sleep(d)
		for _, p := range targets {
			p.slow(0)
		}
		return fmt.Sprintf("%s: +%dms a chunk for %.1fs", who, delay.Milliseconds(), d.Seconds()), nil
	case FaultNetDrop:
		targets, who := n.targets()
		refuse := n.draw(0, 2*time.Second)
		cut := 0
		for _, p := range targets {
			cut += p.cut(refuse)
		}
		time.Sleep(refuse)
		return fmt.Sprintf("%s: %d connections cut, new ones refused for %.1fs", who, cut, refuse.Seconds()), nil
	}
	return "", fmt.Errorf("unknown fault kind %q", kind)
}

// targets draws the proxies a network fault hits: one instance's, or one
// time in three every instance's.
func (n *nemesis) targets() ([]*proxy, string) {
	if n.rng.IntN(3) == 0 {
		return n.s.proxies, "every instance"
	}
	i := n.rng.IntN(len(n.s.proxies))
	return n.s.proxies[i : i+1], n.s.instances[i].String()
}

// draw is a duration uniform in [lo, hi].
func (n *nemesis) draw(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(n.rng.Int64N(int64(hi-lo)+1))
}

// counts returns how many faults of each kind were injected.
func (n *nemesis) counts() map[string]int {
	out := map[string]int{}
	for _, f := range n.log {
		out[f.Kind]++
	}
	return out
}
