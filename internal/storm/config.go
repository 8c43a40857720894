package storm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/grpc"

	"github.com/corebanking/ledger/internal/identity"
)

// Config describes a storm. Zero values take the defaults of Defaults().
type Config struct {
	// Server is the address of a running ledgerd to storm once; empty
	// starts a ledgerd for each run in Modes: in-process, or from the
	// binary Ledgerd.
	Server string
	// Ledgerd, if set, is a ledgerd binary that each run starts as a
	// separate process, so that the load comes from outside it (see
	// OutsideDefaults); empty runs ledgerd in this process.
	Ledgerd string
	// Control sends, during the baseline, a control flood at the flood's
	// rate to the health service, a method that does no work, so that the
	// routine p99 ratio of storm over baseline compares the promo flood
	// with what any flood of that rate costs the machine.
	Control bool
	// PromoConns is how many gRPC connections the promo flood (and the
	// control flood) shares; 4 when zero.
	PromoConns int
	// Slices, when more than 1 (with Control only), cuts the baseline and
	// the storm into that many slices each and alternates them, control
	// flood then promo flood, so that a machine whose other load drifts
	// weighs on both floods alike.
	Slices int
	// Transport returns the credentials of each role for Server; nil dials
	// plaintext. In-process runs always dial plaintext on loopback.
	Transport func(identity.Role) (grpc.DialOption, error)
	// Modes are the in-process runs, in order: true runs with bulkheads on.
	Modes []bool
	// NewDatabase returns the URL of an empty database for an in-process
	// run; nil starts one PostgreSQL in a temporary directory for all runs.
	NewDatabase func(ctx context.Context, name string) (string, error)
	// Limits override compartment limits of in-process runs, as ledgerd's
	// --limit: COMPARTMENT.FIELD=VALUE.
	Limits []string

	// Baseline, Storm and Recovery are the phases' lengths.
	Baseline, Storm, Recovery time.Duration
	// Deadline bounds each request, counted from its scheduled time.
	Deadline time.Duration

	// Accounts is how many customers, each with one funded account: half
	// make payments, half subscribe to the promo.
	Accounts int
	// Rates are requests per second of each kind.
	Rates Rates
	// PromoQuota is how many subscriptions the promo sells.
	PromoQuota int
	// PromoDBDelay, if positive, holds each Subscribe transaction open this
	// long before COMMIT during the storm: a slow promo database
	// (in-process runs only). Unlike the other fields, zero means none.
	PromoDBDelay time.Duration

	// Logf reports progress; nil for silence.
	Logf func(format string, args ...any)
}

// Rates are the arrival rates, in requests per second.
type Rates struct {
	Transfer float64 // routine: Transfer
	Withdraw float64 // routine: one-step ATM Withdraw
	Hold     float64 // routine: PlaceHold then CaptureHold, one request of two calls
	Balance  float64 // teller: GetBalance
	Flood    float64 // promo: Subscribe during the storm
	Trickle  float64 // promo: Subscribe during baseline and recovery
}

// Defaults returns the full storm: about 150 routine and teller requests a
// second, and a promo flood of 1500 a second for 20 seconds on a promo
// database slowed to 600ms a subscription.
func Defaults() Config {
	return Config{
		Modes:    []bool{true, false},
		Baseline: 15 * time.Second, Storm: 20 * time.Second, Recovery: 20 * time.Second,
		Deadline: 2 * time.Second,
		Accounts: 2000,
		Rates:    Rates{Transfer: 60, Withdraw: 25, Hold: 15, Balance: 50, Flood: 1500, Trickle: 5},
		// More than the baseline's trickle buys, less than the run does: the
		// promo sells out during the run, and its last callers hear
		// PROMO_SOLD_OUT from memory.
		PromoQuota: 100,
		// Slower than the promo compartment's slow-call threshold (half its
		// 1s budget): the promo's database buckles under the stampede, as
		// it did in 2019, and the breaker has something to trip on.
		PromoDBDelay: 600 * time.Millisecond,
	}
}

// withDefaults fills zero fields from Defaults and checks the result.
func (c Config) withDefaults() (Config, error) {
	d := Defaults()
	if c.Modes == nil {
		c.Modes = d.Modes
	}
	for _, f := range []struct{ v, def *time.Duration }{
		{&c.Baseline, &d.Baseline}, {&c.Storm, &d.Storm}, {&c.Recovery, &d.Recovery}, {&c.Deadline, &d.Deadline},
	} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	if c.Accounts == 0 {
		c.Accounts = d.Accounts
	}
	if c.Rates == (Rates{}) {
		c.Rates = d.Rates
	}
	if c.PromoQuota == 0 {
		c.PromoQuota = d.PromoQuota
	}
	if c.PromoConns <= 0 {
		c.PromoConns = 4
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	switch {
	case c.Baseline < 0 || c.Storm <= 0 || c.Recovery < 0 || c.Deadline <= 0:
		return c, errors.New("storm: the storm and the deadline must be positive, the other phases not negative")
	case c.Accounts < 4:
		return c, errors.New("storm: need at least 4 accounts: two that pay each other, and subscribers")
	case c.PromoQuota < 1:
		return c, errors.New("storm: the promo quota must be at least 1")
	case c.Server != "" && (c.PromoDBDelay > 0 || len(c.Limits) > 0):
		return c, errors.New("storm: the promo database delay and limits apply only to an in-process ledgerd")
	case c.Server != "" && c.Ledgerd != "":
		return c, errors.New("storm: either a running server or a ledgerd binary to start, not both")
	case c.Slices > 1 && !c.Control:
		return c, errors.New("storm: slices alternate the control flood with the promo flood: they need the control flood")
	case c.Ledgerd != "" && c.PromoDBDelay > 0:
		return c, errors.New("storm: the promo database delay applies only to an in-process ledgerd")
	case c.Server == "" && len(c.Modes) == 0:
		return c, errors.New("storm: no runs")
	}
	for _, r := range []float64{c.Rates.Transfer, c.Rates.Withdraw, c.Rates.Hold, c.Rates.Balance, c.Rates.Flood, c.Rates.Trickle} {
		if r < 0 {
			return c, fmt.Errorf("storm: negative rate %v", r)
		}
	}
	return c, nil
}

// total is the length of a run.
func (c Config) total() time.Duration { return c.Baseline + c.Storm + c.Recovery }

// Phase is a stretch of a run.
type Phase string

// The phases of a run, in order.
const (
	Baseline Phase = "baseline"
	Storm    Phase = "storm"
	Recovery Phase = "recovery"
)

// Phases lists the phases in order.
var Phases = []Phase{Baseline, Storm, Recovery}

// phaseAt returns the index in Phases of the phase a request scheduled
// at offset d belongs to.
func (c Config) phaseAt(d time.Duration) int {
	for _, s := range c.spans() {
		if d < s.to {
			return s.phase
		}
	}
	return len(Phases) - 1
}

// span is a stretch of a run in one phase.
type span struct {
	phase    int // index in Phases
	from, to time.Duration
}

// spans returns the run's stretches in order: baseline, storm and
// recovery, or with Slices the baseline's and the storm's slices
// alternating, then the recovery.
func (c Config) spans() []span {
	n := max(c.Slices, 1)
	var out []span
	at := time.Duration(0)
	for range n {
		for i, d := range []time.Duration{c.Baseline / time.Duration(n), c.Storm / time.Duration(n)} {
			out = append(out, span{i, at, at + d})
			at += d
		}
	}
	return append(out, span{2, at, at + c.Recovery})
}

// Class is a traffic class, as the bulkheads divide traffic.
type Class string

// The traffic classes of the storm.
const (
	Routine Class = "routine" // transfers, ATM withdrawals, holds
	Teller  Class = "teller"  // balance reads
	Promo   Class = "promo"   // promotional deposit subscriptions
	Control Class = "control" // the control flood: health checks, no work
)

// Classes lists the classes in report order; Control follows them in a
// run with a control flood.
var Classes = []Class{Routine, Teller, Promo}

// classes returns the classes a run with c drives.
func (c Config) classes() []Class {
	if c.Control {
		return append(slices.Clone(Classes), Control)
	}
	return Classes
}
