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
// its neighbours, and the report gives every window, the median over all
// runs' windows and the quartiles.
func TestSealerWindowsReport(t *testing.T) {
	w := newSealerWindow(900, 1000, 1100)
	if w.Cost != 0 {
		t.Fatalf("a paused window between 900 and 1100 at 1000 costs %v, want 0", w.Cost)
	}
	runs := []Run{
		{N: 1, Ledger: LedgerResult{SealerWindows: []SealerWindow{newSealerWindow(950, 1000, 950), newSealerWindow(950, 1000, 1010)}}},
		{N: 2, Ledger: LedgerResult{SealerWindows: []SealerWindow{newSealerWindow(1000, 800, 1000), newSealerWindow(980, 1000, 980)}}},
	}
	r := (&Report{Config: ReportConfig{SealerWindowSec: 3}, Runs: runs}).finish()
	// Costs: 5%, 2%, -25%, 2%: median 2%, quartiles -4.75% and 2.75%.
	md := r.Median
	if md.SealerWindows != 4 || math.Abs(md.SealerWindowCost-0.02) > 1e-9 ||
		math.Abs(md.SealerWindowQuartiles[0]+0.0475) > 1e-9 || math.Abs(md.SealerWindowQuartiles[1]-0.0275) > 1e-9 {
		t.Fatalf("windows %d, median %v, quartiles %v; want 4, 0.02, [-0.0475 0.0275]", md.SealerWindows,
			md.SealerWindowCost, md.SealerWindowQuartiles)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	quartiles := fmt.Sprintf("%.1f%% to %.1f%%", 100*md.SealerWindowQuartiles[0], 100*md.SealerWindowQuartiles[1])
	for _, want := range []string{"windows of 3s", "paused tx/s", "-25.0%", "median of 4", "2.0%", quartiles} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, b.String())
		}
	}
}
