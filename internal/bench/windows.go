package bench

import (
	"context"
	"sync/atomic"
	"time"
)

// SealerWindow is one window with the sealer paused and the windows with
// it on either side, all of Config.SealerWindow, within one phase of one
// Transfer a call (Config.SealerWindow). The paused window's backlog is
// sealed between it and OnAfter, and neither window counts that time.
type SealerWindow struct {
	OnBefore float64 `json:"on_before_transfers_per_s"`
	Paused   float64 `json:"paused_transfers_per_s"`
	OnAfter  float64 `json:"on_after_transfers_per_s"`
	// Cost is what the sealer cost: 1 - the mean of the two windows on
	// over the window paused. The mean of the windows before and after
	// cancels a drift that is steady over the three.
	Cost float64 `json:"cost"`
	// The host's busy share in each window (every process on the machine,
	// percent of all cores), and CPUCost, the host CPU a transfer took
	// with the sealer on (the mean of the two windows) over what it took
	// paused, less 1: what the sealer cost, its own work and what it made
	// others spend, in CPU rather than in throughput. Zero where /proc/stat
	// cannot be read.
	OnBeforeHost float64 `json:"on_before_host_pct,omitempty"`
	PausedHost   float64 `json:"paused_host_pct,omitempty"`
	OnAfterHost  float64 `json:"on_after_host_pct,omitempty"`
	CPUCost      float64 `json:"cpu_cost,omitempty"`
	// ProcessCPUCost is the part of CPUCost spent in this process (ledgerd,
	// with the sealer's own Go work, and the load generator): its CPU a
	// transfer on less paused, over the host's CPU a transfer paused. The
	// rest of CPUCost was spent in the database and elsewhere on the host.
	ProcessCPUCost float64 `json:"process_cpu_cost,omitempty"`
}

// onHost is the host's busy share with the sealer on: the mean of the
// windows before and after the paused one.
func (w SealerWindow) onHost() float64 { return (w.OnBeforeHost + w.OnAfterHost) / 2 }

// windowLoad is one window's transfers a second, the host's busy share and
// this process's share (percent of all cores).
type windowLoad struct{ tps, host, process float64 }

// cpuPerTransfer is the host's CPU a transfer took, in percent-seconds.
func (l windowLoad) cpuPerTransfer() float64 { return l.host / l.tps }

func newSealerWindow(before, paused, after windowLoad) SealerWindow {
	w := SealerWindow{OnBefore: before.tps, Paused: paused.tps, OnAfter: after.tps,
		OnBeforeHost: before.host, PausedHost: paused.host, OnAfterHost: after.host}
	if paused.tps > 0 {
		w.Cost = 1 - (before.tps+after.tps)/2/paused.tps
	}
	if before.tps > 0 && paused.tps > 0 && after.tps > 0 && paused.host > 0 {
		w.CPUCost = (before.cpuPerTransfer()+after.cpuPerTransfer())/2/paused.cpuPerTransfer() - 1
		w.ProcessCPUCost = ((before.process/before.tps+after.process/after.tps)/2 - paused.process/paused.tps) /
			paused.cpuPerTransfer()
	}
	return w
}

// sealerWindows runs while a phase's clients transfer until deadline,
// counting their transfers in done. It alternates the sealer in windows of
// length win: on, paused, then (once the paused window's backlog is
// sealed, a time that no window counts) on again, and so on, and returns
// each paused window with its neighbours. The sealer is on when it
// returns.
//
// A machine whose speed drifts from one second to the next makes phases
// tens of seconds apart (Config.SealerPaired) hard to compare; windows of
// a few seconds, side by side and many times over, are.
func (m *Main) sealerWindows(ctx context.Context, deadline time.Time, win time.Duration, done *atomic.Int64) ([]SealerWindow, error) {
	measure := func() windowLoad {
		n0, t0, c0 := done.Load(), time.Now(), sampleCPU()
		select {
		case <-ctx.Done():
		case <-time.After(win):
		}
		elapsed := time.Since(t0)
		use := sampleCPU().since(c0, elapsed)
		return windowLoad{tps: float64(done.Load()-n0) / elapsed.Seconds(), host: use.HostPct, process: use.BenchPct}
	}
	var out []SealerWindow
	before := measure()
	for ctx.Err() == nil && time.Until(deadline) > 2*win+win/2 {
		m.ledger.PauseSealer()
		paused := measure()
		m.ledger.ResumeSealer(ctx)
		if err := m.ledger.Sealer.WaitSealedBefore(ctx, time.Now(), 50*time.Millisecond); err != nil {
			return out, err
		}
		if time.Until(deadline) < win {
			break
		}
		after := measure()
		out = append(out, newSealerWindow(before, paused, after))
		before = after
	}
	return out, ctx.Err()
}
