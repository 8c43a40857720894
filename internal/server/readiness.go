package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// readiness follows the database: a probe runs on a short interval, and at
// once when a call fails for want of the database, so that a load balancer
// stops sending calls to a ledger that cannot serve them and sends them
// again when it can. While the last probe failed, overall health and every
// ledger service are NOT_SERVING and /readyz answers 503 (see
// isolation.watchHealth and adminHandler). A probe that succeeds is all
// it takes to be ready again: no restart, and no breaker's half-open timer
// can say otherwise in between.
type readiness struct {
	log     *slog.Logger
	probe   func(context.Context) error
	every   time.Duration
	timeout time.Duration
	// kick asks for a probe now; it holds at most one request, so a burst
	// of failed calls costs one probe.
	kick chan struct{}

	mu       sync.Mutex
	ready    bool
	draining bool
	reason   string    // why not ready, for /readyz
	since    time.Time // when the current state began

	failures prometheus.Counter
	gauge    prometheus.GaugeFunc
}

// The probe's defaults: at most about three seconds pass between a
// database that stops answering and NOT_SERVING.
const (
	defaultProbeInterval = time.Second
	defaultProbeTimeout  = 2 * time.Second
	// minKickGap keeps a flood of failing calls from probing back to back.
	minKickGap = 100 * time.Millisecond
)

func newReadiness(log *slog.Logger, probe func(context.Context) error, every, timeout time.Duration) *readiness {
	if every <= 0 {
		every = defaultProbeInterval
	}
	if timeout <= 0 {
		timeout = defaultProbeTimeout
	}
	r := &readiness{log: log, probe: probe, every: every, timeout: timeout, kick: make(chan struct{}, 1),
		ready: true, since: time.Now()}
	r.failures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ledger_database_probe_failures_total",
		Help: "Database probes that failed: each one keeps the server NOT_SERVING until a probe succeeds.",
	})
	r.gauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ledger_ready",
		Help: "1 while the server is ready to serve (its database answers), 0 otherwise.",
	}, func() float64 {
		if ok, _, _ := r.state(); ok {
			return 1
		}
		return 0
	})
	return r
}

// run probes until ctx ends. The first probe runs at once, so a server
// that starts while its database is down says so from the start.
func (r *readiness) run(ctx context.Context) {
	if r.probe == nil {
		return
	}
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		last := time.Now()
		r.check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kick:
			t.Reset(r.every)
			select { // a burst of kicks: at most one probe per gap
			case <-ctx.Done():
				return
			case <-time.After(minKickGap - time.Since(last)):
			}
		}
	}
}

// check runs one probe and records its outcome.
func (r *readiness) check(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, r.timeout)
	err := r.probe(pctx)
	cancel()
	if ctx.Err() != nil {
		return // stopping: the probe was cut short, not the database
	}
	if err != nil {
		r.failures.Inc()
		r.set(false, "database: "+err.Error())
		return
	}
	r.set(true, "")
}

// set records the probe's verdict, logging each change once.
func (r *readiness) set(ready bool, reason string) {
	r.mu.Lock()
	changed := r.ready != ready
	r.ready, r.reason = ready, reason
	if changed {
		r.since = time.Now()
	}
	r.mu.Unlock()
	switch {
	case changed && ready:
		r.log.Info("ready: the database answers again; serving")
	case changed:
		r.log.Error("not ready: the database does not answer; reporting NOT_SERVING until it does", "reason", reason)
	}
}

// failed is told of a call that failed for want of infrastructure: the
// database may be gone, so probe now rather than at the next tick. It
// never blocks.
func (r *readiness) failed() {
	if r.probe == nil {
		return
	}
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// drain marks the server as shutting down: not ready, whatever the probe says.
func (r *readiness) drain() {
	r.mu.Lock()
	r.draining = true
	r.mu.Unlock()
}

// state reports whether the server is ready, and if not why and since when.
func (r *readiness) state() (ready bool, reason string, since time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.draining {
		return false, "shutting down", r.since
	}
	return r.ready, r.reason, r.since
}

// Describe implements prometheus.Collector.
func (r *readiness) Describe(ch chan<- *prometheus.Desc) {
	r.failures.Describe(ch)
	r.gauge.Describe(ch)
}

// Collect implements prometheus.Collector.
func (r *readiness) Collect(ch chan<- prometheus.Metric) {
	r.failures.Collect(ch)
	r.gauge.Collect(ch)
}
