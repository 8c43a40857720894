package bench

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestSealerPairedReport: with the sealer's phases paired, each run says
// what the sealer cost it, and the medians are taken over the runs.
func TestSealerPairedReport(t *testing.T) {
	var runs []Run
	for i, tps := range [][2]float64{{900, 1000}, {950, 1000}, {1000, 800}} { // sealer on, paused
		on, paused := LedgerResult{TPS: tps[0]}, LedgerResult{TPS: tps[1]}
		runs = append(runs, Run{N: i + 1, Ledger: on, SealerPaused: &paused, SealerCost: 1 - tps[0]/tps[1]})
	}
	r := (&Report{Config: ReportConfig{SealerPaired: true}, Runs: runs}).finish()
	if r.Median.SealerPausedTPS != 1000 || math.Abs(r.Median.SealerCost-0.05) > 1e-9 {
		t.Fatalf("medians: paused %v, cost %v; want 1000 and 0.05", r.Median.SealerPausedTPS, r.Median.SealerCost)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sealer paused tx/s", "10.0%", "-25.0%", "median", "5.0%"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, b.String())
		}
	}
}

// TestSealerWindowsReport: each paused window is compared with the mean of
// its neighbours, in throughput and in host CPU a transfer, and the report
// gives every window, the median over all runs' windows and the quartiles.
func TestSealerWindowsReport(t *testing.T) {
	w := newSealerWindow(windowLoad{900, 90, 0}, windowLoad{1000, 100, 0}, windowLoad{1100, 110, 0})
	if w.Cost != 0 || w.CPUCost != 0 {
		t.Fatalf("a paused window between 900 and 1100 at 1000, each at 0.1 CPU a transfer, costs %v and %v CPU, want 0",
			w.Cost, w.CPUCost)
	}
	// The host 5 points busier for as many transfers, all of it in this
	// process: each transfer took 1/19 more CPU, and all of that here.
	w = newSealerWindow(windowLoad{1000, 100, 40}, windowLoad{1000, 95, 35}, windowLoad{1000, 100, 40})
	if math.Abs(w.CPUCost-1.0/19) > 1e-9 || math.Abs(w.ProcessCPUCost-1.0/19) > 1e-9 {
		t.Fatalf("CPU cost %v, of it this process %v; want both 1/19", w.CPUCost, w.ProcessCPUCost)
	}
	// The same host share for fewer transfers: each took more CPU.
	on := windowLoad{950, 95, 0}
	runs := []Run{
		{N: 1, Ledger: LedgerResult{SealerWindows: []SealerWindow{newSealerWindow(on, windowLoad{1000, 95, 0}, on),
			newSealerWindow(on, windowLoad{1000, 100, 0}, windowLoad{1010, 101, 0})}}},
		{N: 2, Ledger: LedgerResult{SealerWindows: []SealerWindow{newSealerWindow(windowLoad{1000, 100, 0}, windowLoad{800, 80, 0}, windowLoad{1000, 100, 0}),
			newSealerWindow(windowLoad{980, 98, 0}, windowLoad{1000, 98, 0}, windowLoad{980, 98, 0})}}},
	}
	r := (&Report{Config: ReportConfig{SealerWindowSec: 3}, Runs: runs}).finish()
	// Costs: 5%, 2%, -25%, 2%: median 2%, quartiles -4.75% and 2.75%. CPU a
	// transfer: 0.1 on against 0.095, 0.1, 0.1 and 0.098 paused: +5.26%,
	// 0, 0, +2.04%: median 1.02%. Host on 95, 98, 100 and 98: median 98;
	// paused 95, 100, 80 and 98: median 96.5.
	md := r.Median
	if md.SealerWindows != 4 || math.Abs(md.SealerWindowCost-0.02) > 1e-9 ||
		math.Abs(md.SealerWindowQuartiles[0]+0.0475) > 1e-9 || math.Abs(md.SealerWindowQuartiles[1]-0.0275) > 1e-9 {
		t.Fatalf("windows %d, median %v, quartiles %v; want 4, 0.02, [-0.0475 0.0275]", md.SealerWindows,
			md.SealerWindowCost, md.SealerWindowQuartiles)
	}
	wantCPU := (0.1/0.098 - 1) / 2
	if math.Abs(md.SealerWindowCPUCost-wantCPU) > 1e-9 || md.SealerWindowHost != [2]float64{98, 96.5} {
		t.Fatalf("median CPU cost %v, host on/paused %v; want %v, [98 96.5]", md.SealerWindowCPUCost, md.SealerWindowHost, wantCPU)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	quartiles := fmt.Sprintf("%.1f%% to %.1f%%", 100*md.SealerWindowQuartiles[0], 100*md.SealerWindowQuartiles[1])
	for _, want := range []string{"windows of 3s", "paused tx/s", "-25.0%", "median of 4", "2.0%", quartiles,
		"host busy on/paused", "of it, this process", fmt.Sprintf("%+.1f%%", 100*wantCPU)} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, b.String())
		}
	}
}
