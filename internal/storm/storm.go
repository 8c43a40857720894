package storm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Run storms the ledger: once against cfg.Server if set, else once per
// mode against a fresh in-process ledgerd.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rep := &Report{Started: time.Now().UTC(), Settings: reportConfig(cfg)}
	if cfg.Server != "" {
		t, err := dial(cfg.Server, cfg.Transport, cfg.PromoConns)
		if err != nil {
			return nil, err
		}
		run, err := storm(ctx, t, cfg)
		t.close()
		if err != nil {
			return nil, err
		}
		rep.Runs = append(rep.Runs, run)
		return rep, nil
	}
	newDB := cfg.NewDatabase
	if newDB == nil {
		dbs := &databases{logf: cfg.Logf}
		defer dbs.close()
		newDB = dbs.create
	}
	for i, on := range cfg.Modes {
		label := map[bool]string{true: "on", false: "off"}[on]
		cfg.Logf("run %d of %d: bulkheads %s", i+1, len(cfg.Modes), label)
		start := startLocal
		if cfg.Ledgerd != "" {
			start = startOutside
		}
		t, err := start(ctx, cfg, newDB, on, fmt.Sprintf("storm_%d_%s", i+1, label))
		if err != nil {
			return nil, err
		}
		run, err := storm(ctx, t, cfg)
		if cerr := t.close(); err == nil && cerr != nil {
			cfg.Logf("stopping ledgerd: %v", cerr)
		}
		if err != nil {
			return nil, err
		}
		rep.Runs = append(rep.Runs, run)
	}
	return rep, nil
}

// storm sets up a world on t, drives the phases, and reports.
func storm(ctx context.Context, t *target, cfg Config) (*RunReport, error) {
	w, err := setup(ctx, t, cfg)
	if err != nil {
		return nil, err
	}
	t0 := time.Now().Add(100 * time.Millisecond) // a moment for every stream to be ready
	rec := newRecorder(cfg, t0)
	wctx, stopWatch := context.WithCancel(ctx)
	watched, cpu := make(chan *watch, 1), make(chan []CPUSecond, 1)
	go func() { watched <- watchBreaker(wctx, t, t0) }()
	go func() { cpu <- sampleCPU(wctx, t0, t.pid) }()

	var calls, streams sync.WaitGroup
	for _, s := range w.streams(cfg) {
		streams.Go(func() { drive(ctx, t, rec, s, cfg.Deadline, &calls) })
	}
	go phaseClock(ctx, cfg, t0, t)
	streams.Wait()
	calls.Wait()
	end := time.Since(t0)
	stopWatch()
	wt, cpuUse := <-watched, <-cpu
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	run := summarize(cfg, rec, wt, end)
	run.Outside, run.Control = t.pid != 0, cfg.Control
	run.CPU = cpuUse
	if t.retries != nil {
		run.Retries = t.retries.snapshot()
	}
	if run.PromoSold, err = w.soldCount(ctx, t); err != nil {
		cfg.Logf("reading the promo after the storm: %v", err)
		run.PromoSold = -1
	}
	run.judge(cfg.PromoQuota)
	cfg.Logf("%s: routine p99 %.1f ms %s, %.1f ms storm; %s breaker: %d transitions; promo sold %d of %d",
		run.Label, run.stats(Routine, Baseline).P99Ms, run.baselineName(), run.stats(Routine, Storm).P99Ms,
		run.Compartment, len(run.Breaker), run.PromoSold, cfg.PromoQuota)
	return run, nil
}

// phaseClock reports each phase as it starts and tells an in-process
// target: its promo database is slow in the storm, and its retries are
// counted by phase.
func phaseClock(ctx context.Context, cfg Config, t0 time.Time, t *target) {
	for _, s := range cfg.spans() {
		select {
		case <-time.After(time.Until(t0.Add(s.from))):
		case <-ctx.Done():
			return
		}
		if t.slowPromo != nil {
			t.slowPromo.Store(Phases[s.phase] == Storm)
		}
		if t.retries != nil {
			t.retries.phase.Store(int32(s.phase))
		}
		cfg.Logf("%s: %v", Phases[s.phase], s.to-s.from)
	}
}

// retryAdvised calls f, which must be safe to replay (a read, or a write
// with a fixed request id), until it succeeds or fails for good, at most
// five times, waiting as long as a refusal's RetryInfo asks. Setup uses
// it; the storm itself never retries.
func retryAdvised[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	var zero T
	for attempt := 1; ; attempt++ {
		v, err := withTimeout(ctx, f)
		switch status.Code(err) {
		case codes.ResourceExhausted, codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
		default:
			return v, err
		}
		if attempt == 5 {
			return v, err
		}
		wait := time.Second
		for _, d := range status.Convert(err).Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok {
				wait = max(ri.GetRetryDelay().AsDuration(), 10*time.Millisecond)
			}
		}
		select {
		case <-time.After(min(wait, 5*time.Second)):
		case <-ctx.Done():
			return zero, errors.Join(err, ctx.Err())
		}
	}
}
