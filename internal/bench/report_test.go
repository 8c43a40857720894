package bench

import (
	"bytes"
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
