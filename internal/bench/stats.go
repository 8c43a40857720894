package bench

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// CPUUse is how busy the CPUs were during a phase, in percent of all of
// them: 100 means every core was busy for the whole phase.
type CPUUse struct {
	HostPct    float64 `json:"host_pct"`                      // everything on the machine
	StealPct   float64 `json:"steal_pct,omitempty"`           // taken by the hypervisor
	BenchPct   float64 `json:"bench_process_pct"`             // this process: ledgerd and the load generator
	PgbenchPct float64 `json:"pgbench_process_pct,omitempty"` // the pgbench client
}

type cpuSample struct {
	busy, steal, total uint64 // jiffies from /proc/stat; zero where it is missing
	self               time.Duration
}

func sampleCPU() cpuSample {
	var s cpuSample
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return s
	}
	var v [8]uint64
	for i := range v {
		v[i], _ = strconv.ParseUint(f[i+1], 10, 64)
		s.total += v[i]
	}
	s.busy = v[0] + v[1] + v[2] + v[5] + v[6]
	s.steal = v[7]
	return s
}

func (s cpuSample) since(s0 cpuSample, elapsed time.Duration) CPUUse {
	u := CPUUse{BenchPct: pct(s.self-s0.self, elapsed)}
	if total := float64(s.total - s0.total); total > 0 {
		u.HostPct = 100 * float64(s.busy-s0.busy) / total
		u.StealPct = 100 * float64(s.steal-s0.steal) / total
	}
	return u
}

// pct is CPU time used as a percentage of all cores over elapsed.
func pct(used, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return 100 * used.Seconds() / (elapsed.Seconds() * float64(runtime.NumCPU()))
}

// DBActivity is what the database itself counted during a phase.
type DBActivity struct {
	CommitsPerSec float64 `json:"commits_per_s"`
	Rollbacks     int64   `json:"rollbacks"` // failed attempts, retried or not
}

type dbSample struct{ commits, rollbacks int64 }

// dbActivity reads the transaction counters of the database url names.
func dbActivity(ctx context.Context, url string) (dbSample, error) {
	var s dbSample
	err := withConn(ctx, url, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT xact_commit, xact_rollback FROM pg_stat_database
			WHERE datname = current_database()`).Scan(&s.commits, &s.rollbacks)
	})
	return s, err
}

// statsFlushDelay is how long PostgreSQL may keep an idle backend's counts
// unpublished (PGSTAT_IDLE_INTERVAL, 10s), plus a margin. The ledger's pool
// keeps its connections open, so its last transactions show only then.
const statsFlushDelay = 10500 * time.Millisecond

// pendingDB is a phase whose database counts are still to be read.
type pendingDB struct {
	url     string
	before  dbSample
	end     time.Time
	elapsed time.Duration
}

// finish waits until the phase's counts are published, then reads them.
func (p pendingDB) finish(ctx context.Context) (DBActivity, error) {
	t := time.NewTimer(time.Until(p.end.Add(statsFlushDelay)))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return DBActivity{}, ctx.Err()
	}
	after, err := dbActivity(ctx, p.url)
	return after.since(p.before, p.elapsed), err
}

func (s dbSample) since(s0 dbSample, elapsed time.Duration) DBActivity {
	// Our own counter query commits once, outside the phase.
	return DBActivity{CommitsPerSec: float64(s.commits-s0.commits-1) / elapsed.Seconds(), Rollbacks: s.rollbacks - s0.rollbacks}
}

// checkpoint writes out dirty pages before a phase, so that neither phase
// pays for the other's writes and each starts with the same full-page-write
// cost.
func checkpoint(ctx context.Context, url string) error {
	return withConn(ctx, url, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "CHECKPOINT")
		return err
	})
}

func withConn(ctx context.Context, url string, fn func(*pgx.Conn) error) error {
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	return fn(c)
}
