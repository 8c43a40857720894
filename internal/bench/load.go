package bench

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/corebanking/ledger/ledger/cockroach"
	ledgerv1 "github.com/corebanking/ledger/proto/ledger/v1"
)

const (
	// callTimeout bounds one call; a call that takes this long is an error.
	callTimeout = 30 * time.Second
	// maxAmount matches the pgbench script's random(1, 5000).
	maxAmount = 5000
	// histMaxMicros is the largest latency the histograms hold.
	histMaxMicros = int64(callTimeout / time.Microsecond)
)

// LedgerResult is one ledger phase: transfers through gRPC, one a call or
// in batches (then the latencies are the batches').
type LedgerResult struct {
	Transfers  int64            `json:"transfers"`
	Errors     map[string]int64 `json:"errors,omitempty"` // by gRPC code
	ElapsedSec float64          `json:"elapsed_s"`
	TPS        float64          `json:"transfers_per_s"`
	P50ms      float64          `json:"p50_ms"`
	P99ms      float64          `json:"p99_ms"`
	P999ms     float64          `json:"p99_9_ms"`
	MaxMs      float64          `json:"max_ms"`
	CPU        CPUUse           `json:"cpu"`
	DB         DBActivity       `json:"db"`
	// Moves is what group commit did in the phase's compartment during the
	// phase: transactions that made a batch, the entries they posted, and
	// the entries that went alone.
	Moves cockroach.MoveStats `json:"moves"`
	// SealCatchUpSec is how long the sealer took, after the phase, to seal
	// what the phase left waiting; the next phase starts after it.
	SealCatchUpSec float64 `json:"seal_catch_up_s,omitempty"`
	// SealerWindows are the windows in which the sealer was paused, with
	// their neighbours, when Config.SealerWindow alternates it.
	SealerWindows []SealerWindow `json:"sealer_windows,omitempty"`
}

// phase is what a ledger phase's clients send, and the compartment that
// serves it.
type phase struct {
	compartment string
	loop        func(w *worker, ctx context.Context, client ledgerv1.PaymentServiceClient, accounts []string, deadline time.Time)
}

// unaryPhase sends one Transfer a call.
var unaryPhase = phase{compartment: "routine", loop: (*worker).loop}

// batchPhase sends SubmitBatch calls of n transfers each.
func batchPhase(n int) phase {
	return phase{compartment: "batch", loop: func(w *worker, ctx context.Context, client ledgerv1.PaymentServiceClient,
		accounts []string, deadline time.Time) {
		w.batchLoop(ctx, client, accounts, deadline, n)
	}}
}

// worker is one client's tally; merged after the phase, so no locks.
type worker struct {
	ok   int64
	errs map[codes.Code]int64
	hist *hdrhistogram.Histogram // successful calls, in microseconds
	done *atomic.Int64           // every worker's transfers so far, for sealerWindows
}

// ledgerPhase has every client transfer between random accounts, as ph
// sends them, until the duration is up, then waits for the calls in
// flight. The database's own counts come later, from the pendingDB it
// returns. With Config.SealerWindow, the phase of one Transfer a call
// also alternates the sealer (sealerWindows), and the result says what it
// cost.
func (m *Main) ledgerPhase(ctx context.Context, ph phase) (LedgerResult, pendingDB, error) {
	if err := checkpoint(ctx, m.ledgerDB); err != nil {
		m.logf("checkpoint: %v", err)
	}
	db0, err := dbActivity(ctx, m.ledgerDB)
	if err != nil {
		return LedgerResult{}, pendingDB{}, err
	}
	cpu0, moves0 := sampleCPU(), m.ledger.MoveStats(ph.compartment)
	workers := make([]*worker, m.cfg.Clients)
	var wg sync.WaitGroup
	var done atomic.Int64
	start := time.Now()
	deadline := start.Add(m.cfg.Duration)
	for i := range workers {
		w := &worker{errs: map[codes.Code]int64{}, hist: hdrhistogram.New(1, histMaxMicros, 3), done: &done}
		workers[i] = w
		client := ledgerv1.NewPaymentServiceClient(m.conns[i%len(m.conns)])
		wg.Go(func() { ph.loop(w, ctx, client, m.accounts, deadline) })
	}
	var windows []SealerWindow
	var windowsErr error
	if m.cfg.SealerWindow > 0 && m.ledger.Sealer != nil && ph.compartment == unaryPhase.compartment {
		windows, windowsErr = m.sealerWindows(ctx, deadline, m.cfg.SealerWindow, &done)
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := sampleCPU().since(cpu0, elapsed)
	if err := ctx.Err(); err != nil {
		return LedgerResult{}, pendingDB{}, err
	}
	if windowsErr != nil {
		return LedgerResult{}, pendingDB{}, windowsErr
	}
	r := summarize(workers, elapsed)
	r.CPU, r.SealerWindows = cpu, windows
	r.Moves = m.ledger.MoveStats(ph.compartment).Since(moves0)
	return r, pendingDB{url: m.ledgerDB, before: db0, end: time.Now(), elapsed: elapsed}, nil
}

// randomTransfer is a transfer of 1 to maxAmount between two distinct
// random accounts, as pgbench's script makes.
func randomTransfer(accounts []string) *ledgerv1.TransferRequest {
	from := rand.IntN(len(accounts))
	to := rand.IntN(len(accounts) - 1)
	if to >= from {
		to++ // distinct, and still uniform
	}
	return &ledgerv1.TransferRequest{
		RequestId: uuid.NewString(), FromAccountId: accounts[from], ToAccountId: accounts[to],
		Amount: 1 + rand.Int64N(maxAmount), Currency: currency, Memo: "bench",
	}
}

func (w *worker) loop(ctx context.Context, client ledgerv1.PaymentServiceClient, accounts []string, deadline time.Time) {
	for ctx.Err() == nil && time.Now().Before(deadline) {
		req := randomTransfer(accounts)
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		t0 := time.Now()
		_, err := client.Transfer(cctx, req)
		d := time.Since(t0)
		cancel()
		if err != nil {
			w.errs[status.Code(err)]++
			continue
		}
		w.ok++
		w.done.Add(1)
		_ = w.hist.RecordValue(min(max(d.Microseconds(), 1), histMaxMicros))
	}
}

// batchLoop submits batches of n random transfers; each transfer posted
// counts, and each refused one is an error of its code.
func (w *worker) batchLoop(ctx context.Context, client ledgerv1.PaymentServiceClient, accounts []string,
	deadline time.Time, n int) {
	for ctx.Err() == nil && time.Now().Before(deadline) {
		req := &ledgerv1.SubmitBatchRequest{Items: make([]*ledgerv1.BatchItem, n)}
		for i := range req.Items {
			req.Items[i] = &ledgerv1.BatchItem{Op: &ledgerv1.BatchItem_Transfer{Transfer: randomTransfer(accounts)}}
		}
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		t0 := time.Now()
		res, err := client.SubmitBatch(cctx, req)
		d := time.Since(t0)
		cancel()
		if err != nil {
			w.errs[status.Code(err)] += int64(n)
			continue
		}
		for _, r := range res.GetResults() {
			if e := r.GetError(); e != nil {
				w.errs[codes.Code(e.GetCode())]++
			} else {
				w.ok++
			}
		}
		_ = w.hist.RecordValue(min(max(d.Microseconds(), 1), histMaxMicros))
	}
}

func summarize(workers []*worker, elapsed time.Duration) LedgerResult {
	hist := hdrhistogram.New(1, histMaxMicros, 3)
	r := LedgerResult{ElapsedSec: elapsed.Seconds()}
	for _, w := range workers {
		r.Transfers += w.ok
		hist.Merge(w.hist)
		for c, n := range w.errs {
			if r.Errors == nil {
				r.Errors = map[string]int64{}
			}
			r.Errors[c.String()] += n
		}
	}
	r.TPS = float64(r.Transfers) / elapsed.Seconds()
	ms := func(q float64) float64 { return float64(hist.ValueAtQuantile(q)) / 1000 }
	r.P50ms, r.P99ms, r.P999ms = ms(50), ms(99), ms(99.9)
	r.MaxMs = float64(hist.Max()) / 1000
	return r
}
