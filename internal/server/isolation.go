package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	"github.com/corebanking/ledger/bulkhead"
	"github.com/corebanking/ledger/ledger"
)

// CompartmentConfig is one traffic class: its bulkhead limits and the
// ledger, on the compartment's own connection pool, that serves its calls.
type CompartmentConfig struct {
	Settings bulkhead.Settings
	Ledger   ledger.Ledger
	// Promotions serves PromoService in the compartment; nil leaves it
	// unimplemented there.
	Promotions ledger.Promotions
	// Journal serves AuditService's unary calls in the compartment, on its
	// own pool; nil: the server's journal (Config.Journal).
	Journal ledger.Journal
	// Pool reports the compartment's database pool: its size and the
	// connections in use. Optional.
	Pool func() (max, acquired int32)
	// MaxBatchItems is the most items a SubmitBatch in this compartment may
	// carry; ledger.MaxBatchItems when zero.
	MaxBatchItems int
}

// compartment is a running CompartmentConfig.
type compartment struct {
	*bulkhead.Compartment
	ledger        ledger.Ledger
	promotions    ledger.Promotions
	journal       ledger.Journal
	pool          func() (max, acquired int32)
	latency       prometheus.Observer
	maxBatchItems int
}

// isolation routes each method to its compartment, sheds what a compartment
// cannot take as early as possible, and reports breaker state to health.
type isolation struct {
	log     *slog.Logger
	byName  map[string]*compartment
	methods map[string]*compartment // full method name -> compartment
	metrics *compartmentMetrics
	// failed is told of every call that failed for want of
	// infrastructure, so that readiness probes the database at once.
	failed func()
}

func newIsolation(log *slog.Logger, cfgs []CompartmentConfig, methods map[string]string, failed func()) (*isolation, error) {
	iso := &isolation{log: log, byName: map[string]*compartment{}, methods: map[string]*compartment{}, failed: failed}
	iso.metrics = newCompartmentMetrics(iso)
	for _, c := range cfgs {
		s := c.Settings
		s.IsFailure = isInfrastructureFailure
		s.OnStateChange = iso.onStateChange
		iso.byName[s.Name] = &compartment{
			Compartment: bulkhead.New(s), ledger: c.Ledger, promotions: c.Promotions, journal: c.Journal, pool: c.Pool,
			latency:       iso.metrics.latency.WithLabelValues(s.Name),
			maxBatchItems: min(cmp.Or(c.MaxBatchItems, ledger.MaxBatchItems), ledger.MaxBatchItems),
		}
		// Every transition counted from zero, so that a dashboard's
		// increase() sees the first one.
		for _, to := range []bulkhead.State{bulkhead.StateClosed, bulkhead.StateHalfOpen, bulkhead.StateOpen} {
			iso.metrics.transitions.WithLabelValues(s.Name, to.String())
		}
	}
	for method, name := range methods {
		c, ok := iso.byName[name]
		if !ok {
			return nil, errors.New("method " + method + " is mapped to unknown compartment " + name)
		}
		iso.methods[method] = c
	}
	return iso, nil
}

// checkRouted returns an error naming every method of the services names,
// but except, that no compartment serves, when compartments are
// configured: such a method would run outside every bulkhead, on the
// default ledger.
func (iso *isolation) checkRouted(services map[string]grpc.ServiceInfo, names []string, except string) error {
	if len(iso.byName) == 0 {
		return nil
	}
	var missing []string
	for _, svc := range names {
		if svc == except {
			continue
		}
		for _, m := range services[svc].Methods {
			if full := "/" + svc + "/" + m.Name; iso.methods[full] == nil {
				missing = append(missing, full)
			}
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("server: no compartment serves %s: map every method to a compartment", strings.Join(missing, ", "))
	}
	return nil
}

// isInfrastructureFailure is what trips a breaker: the database being
// unavailable or slow, deadlines, internal faults. The handler's error has
// already been mapped to a status; business outcomes (insufficient funds,
// not found, invalid input) are successes to a breaker.
func isInfrastructureFailure(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Internal, codes.Unknown:
		return true
	}
	return false
}

// onStateChange runs under the breaker's lock: it only logs and counts.
func (iso *isolation) onStateChange(name string, from, to bulkhead.State) {
	iso.log.Warn("circuit breaker", "compartment", name, "from", from.String(), "to", to.String())
	iso.metrics.transitions.WithLabelValues(name, to.String()).Inc()
}

// tap rejects a call before its request is even read when its compartment
// is full or its breaker open. It runs on the connection's reader
// goroutine, so it only looks at counters.
func (iso *isolation) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	c, ok := iso.methods[info.FullMethodName]
	if !ok || knownAnswers[info.FullMethodName] != nil {
		// A method that may have a final answer in memory is only shed
		// after that answer was looked for (early).
		return ctx, nil
	}
	if err := c.TryReject(); err != nil {
		return nil, rejection(c, err)
	}
	return ctx, nil
}

type compartmentKey struct{}

// early does for a method with known answers (see knownAnswers) what the
// tap does for the others, once its request is decoded: a final answer
// known from memory first, then, as the tap would, a refusal when the
// compartment is full or its breaker open. Like the tap's, its answers are
// counted in the compartment's metrics, not logged one by one, and cost no
// slot and no connection.
func (iso *isolation) early(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	c, ok := iso.methods[info.FullMethod]
	known := knownAnswers[info.FullMethod]
	if !ok || known == nil || c.promotions == nil {
		return next(ctx, req)
	}
	if err := known(ctx, c.promotions, req); err != nil {
		iso.metrics.known.WithLabelValues(c.Name(), string(ledger.ErrorCode(err))).Inc()
		return nil, toStatus(ctx, iso.log, info.FullMethod, err)
	}
	if err := c.TryReject(); err != nil {
		return nil, rejection(c, err)
	}
	return next(ctx, req)
}

// unary admits the call to its compartment, runs it under the
// compartment's deadline budget with the compartment's ledger, and records
// the outcome for the breaker.
func (iso *isolation) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	c, ok := iso.methods[info.FullMethod]
	if !ok {
		return next(ctx, req)
	}
	var resp any
	err := iso.admitted(ctx, info.FullMethod, func(callCtx context.Context) (err error) {
		resp, err = next(context.WithValue(callCtx, compartmentKey{}, c), req)
		return err
	})
	return resp, err
}

// admitted runs work as one call of method's compartment: a unary call, or
// one page of a stream's database work. work's error must already be a
// status, so that the breaker can judge it.
func (iso *isolation) admitted(ctx context.Context, method string, work func(context.Context) error) error {
	c, ok := iso.methods[method]
	if !ok {
		return work(ctx)
	}
	trace.SpanFromContext(ctx).SetAttributes(attrCompartment.String(c.Name()))
	callCtx, release, err := c.Admit(ctx)
	if err != nil {
		return rejection(c, err)
	}
	start := time.Now()
	err = work(callCtx)
	release(err)
	if isInfrastructureFailure(err) {
		iso.failed()
	}
	c.latency.Observe(time.Since(start).Seconds())
	return err
}

// ledgerFor returns the ledger of the call's compartment, or def.
func ledgerFor(ctx context.Context, def ledger.Ledger) ledger.Ledger {
	if c, ok := ctx.Value(compartmentKey{}).(*compartment); ok && c.ledger != nil {
		return c.ledger
	}
	return def
}

// promotionsFor returns the promotions of the call's compartment, or def.
func promotionsFor(ctx context.Context, def ledger.Promotions) ledger.Promotions {
	if c, ok := ctx.Value(compartmentKey{}).(*compartment); ok && c.promotions != nil {
		return c.promotions
	}
	return def
}

// journalFor returns the journal of the call's compartment, or def.
func journalFor(ctx context.Context, def ledger.Journal) ledger.Journal {
	if c, ok := ctx.Value(compartmentKey{}).(*compartment); ok && c.journal != nil {
		return c.journal
	}
	return def
}

// budget is the deadline budget of method's compartment; 0 for a method
// outside every compartment.
func (iso *isolation) budget(method string) time.Duration {
	if c, ok := iso.methods[method]; ok {
		return c.Timeout()
	}
	return 0
}

// batchLimit is the most items a batch may carry in the call's compartment.
func batchLimit(ctx context.Context) int {
	if c, ok := ctx.Value(compartmentKey{}).(*compartment); ok {
		return c.maxBatchItems
	}
	return ledger.MaxBatchItems
}

// Reasons for calls the bulkhead refuses.
const (
	reasonSaturated   = "COMPARTMENT_SATURATED"
	reasonCircuitOpen = "CIRCUIT_OPEN"
	reasonNoTime      = "DEADLINE_TOO_SHORT"
)

// rejection is the status of a call the bulkhead refused: RESOURCE_EXHAUSTED
// when the compartment is saturated, UNAVAILABLE when its breaker is open,
// each with when to retry, the reason and compartment, and messages a
// customer can read.
func rejection(c *compartment, err error) error {
	name := reasonSaturated
	switch {
	case errors.Is(err, bulkhead.ErrCircuitOpen):
		name = reasonCircuitOpen
	case errors.Is(err, bulkhead.ErrNoTime):
		name = reasonNoTime
	case errors.Is(err, context.Canceled): // the caller has gone: nothing to retry
		return statusOf(reasons[reasonCanceled], reasonCanceled, map[string]string{"compartment": c.Name()}, 0, nil)
	}
	return statusOf(reasons[name], name, map[string]string{"compartment": c.Name()}, c.RetryAfter(), nil)
}

// names returns the compartments' names, sorted.
func (iso *isolation) names() []string {
	out := make([]string, 0, len(iso.byName))
	for n := range iso.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// methodsOf returns the methods routed to compartment name, sorted.
func (iso *isolation) methodsOf(name string) []string {
	var out []string
	for m, c := range iso.methods {
		if c.Name() == name {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}
