package cockroach

import (
	"testing"
	"time"
)

// TestQueueCursor: a poll starts from the queue's beginning until this
// sealer leads and has sealed something, then shortly before the latest
// time it sealed, and again from the beginning once a sweep is due or the
// lease is lost. The cursor never moves back.
func TestQueueCursor(t *testing.T) {
	wall := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	posted := wall.Add(-time.Hour)
	var c queueCursor
	want := func(step string, at time.Time, after time.Time, sweep bool) {
		t.Helper()
		got, gotSweep := c.start(at)
		if !got.Equal(after) || gotSweep != sweep {
			t.Fatalf("%s: start = %v, sweep %v; want %v, sweep %v", step, got, gotSweep, after, sweep)
		}
	}
	want("new", wall, time.Time{}, true)
	c.sealed(SealResult{Leader: true}, time.Time{}, true, wall)
	want("nothing sealed yet", wall, time.Time{}, true)
	c.sealed(SealResult{Leader: true}, posted, true, wall)
	want("after a batch", wall.Add(sweepEvery/2), posted.Add(-queueLookback), false)
	c.sealed(SealResult{Leader: true}, posted.Add(-time.Minute), false, wall.Add(sweepEvery/2))
	want("after a late entry", wall.Add(sweepEvery/2), posted.Add(-queueLookback), false)
	want("sweep due", wall.Add(sweepEvery), time.Time{}, true)
	c.sealed(SealResult{Leader: true}, time.Time{}, true, wall.Add(sweepEvery))
	want("swept", wall.Add(sweepEvery*3/2), posted.Add(-queueLookback), false)
	c.sealed(SealResult{Leader: false}, time.Time{}, false, wall.Add(sweepEvery*3/2))
	want("lease lost", wall.Add(sweepEvery*3/2), time.Time{}, true)
}
