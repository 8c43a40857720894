package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pgbenchScale is pgbench -i's scale: 1,000,000 pgbench_accounts rows.
const pgbenchScale = 10

// PgbenchResult is one pgbench phase, as pgbench reported it.
type PgbenchResult struct {
	TPS           float64    `json:"tps"` // without initial connection time
	Processed     int64      `json:"transactions"`
	Failed        int64      `json:"failed"`                      // serialization or deadlock failures, not retried
	LatencyAvgMs  float64    `json:"latency_avg_ms,omitempty"`    // 0 when not printed
	LatencyStdMs  float64    `json:"latency_stddev_ms,omitempty"` // only printed with some options
	InitialConnMs float64    `json:"initial_connection_ms,omitempty"`
	CPU           CPUUse     `json:"cpu"`
	DB            DBActivity `json:"db"`
}

// pgbench runs the pgbench binary against one database.
type pgbench struct {
	bin, url, script string
	noVacuum         bool // -n: the database has no pgbench tables to vacuum
}

func newPgbench(url, script string) (*pgbench, error) {
	bin, err := FindPgbench()
	if err != nil {
		return nil, err
	}
	return &pgbench{bin: bin, url: url, script: script}, nil
}

// FindPgbench returns the pgbench binary: on PATH, else the newest of
// Debian's versioned ones.
func FindPgbench() (string, error) {
	if bin, err := exec.LookPath("pgbench"); err == nil {
		return bin, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	if len(found) == 0 {
		return "", errors.New("pgbench not found: install postgresql-client, or run with --database-url and no --pgbench-url")
	}
	slices.SortFunc(found, func(a, b string) int { return versionOf(a) - versionOf(b) })
	return found[len(found)-1], nil
}

func versionOf(binPath string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(binPath))))
	return n
}

// runArgs is the measured command: the one in shared/README.md.
func (p *pgbench) runArgs(clients int, d time.Duration) []string {
	var args []string
	if p.noVacuum {
		args = append(args, "-n")
	}
	return append(args, "-M", "prepared", "-c", strconv.Itoa(clients), "-j", strconv.Itoa(min(2, clients)),
		"-T", strconv.Itoa(int(max(d.Round(time.Second), time.Second)/time.Second)), "-f", p.script, p.url)
}

// command shows the measured command for the report.
func (p *pgbench) command(clients int, d time.Duration) string {
	return shellJoin(append([]string{"pgbench"}, p.runArgs(clients, d)...))
}

// init creates pgbench's tables: once per benchmark, in its own database.
func (p *pgbench) init(ctx context.Context) error {
	_, _, err := p.exec(ctx, "-i", "-s", strconv.Itoa(pgbenchScale), p.url)
	return err
}

// run runs the transfer script for d and reads pgbench's summary.
func (p *pgbench) run(ctx context.Context, clients int, d time.Duration) (PgbenchResult, error) {
	db0, err := dbActivity(ctx, p.url)
	if err != nil {
		return PgbenchResult{}, err
	}
	cpu0 := sampleCPU()
	start := time.Now()
	out, childCPU, err := p.exec(ctx, p.runArgs(clients, d)...)
	elapsed := time.Since(start)
	if err != nil {
		return PgbenchResult{}, err
	}
	r, err := ParsePgbench(out)
	if err != nil {
		return r, fmt.Errorf("%w\n%s", err, out)
	}
	r.CPU = sampleCPU().since(cpu0, elapsed)
	r.CPU.PgbenchPct = pct(childCPU, elapsed)
	db1, err := dbActivity(ctx, p.url)
	r.DB = db1.since(db0, elapsed)
	return r, err
}

// exec runs pgbench with args and returns its output and CPU time.
func (p *pgbench) exec(ctx context.Context, args ...string) (string, time.Duration, error) {
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return "", 0, ctx.Err()
		}
		return string(out), 0, fmt.Errorf("pgbench %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	var used time.Duration
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		used = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return string(out), used, nil
}

// ParsePgbench reads the summary pgbench prints at the end of a run. It
// needs the tps line; the other figures are read when present.
func ParsePgbench(out string) (PgbenchResult, error) {
	var r PgbenchResult
	found := false
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "tps = ") &&
			(strings.Contains(line, "(without initial connection time)") || // PostgreSQL 14 and later
				strings.Contains(line, "(excluding connections establishing)")): // 13 and earlier
			v, err := strconv.ParseFloat(firstField(strings.TrimPrefix(line, "tps = ")), 64)
			if err != nil {
				return r, fmt.Errorf("pgbench output: %q: %w", line, err)
			}
			r.TPS, found = v, true
		case strings.HasPrefix(line, "number of transactions actually processed:"):
			r.Processed = leadingInt(afterColon(line))
		case strings.HasPrefix(line, "number of failed transactions:"):
			r.Failed = leadingInt(afterColon(line))
		case strings.HasPrefix(line, "latency average = "):
			r.LatencyAvgMs = msValue(strings.TrimPrefix(line, "latency average = "))
		case strings.HasPrefix(line, "latency stddev = "):
			r.LatencyStdMs = msValue(strings.TrimPrefix(line, "latency stddev = "))
		case strings.HasPrefix(line, "initial connection time = "):
			r.InitialConnMs = msValue(strings.TrimPrefix(line, "initial connection time = "))
		}
	}
	if !found {
		return r, errors.New("pgbench output has no \"tps = N (without initial connection time)\" line")
	}
	return r, nil
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

func afterColon(s string) string {
	_, v, _ := strings.Cut(s, ":")
	return strings.TrimSpace(v)
}

// leadingInt reads "123" from "123", "123/456" or "123 (0.1%)".
func leadingInt(s string) int64 {
	end := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(s)
	}
	n, _ := strconv.ParseInt(s[:end], 10, 64)
	return n
}

// msValue reads "12.345 ms", perhaps followed by a remark such as
// "(including failures)"; pgbench prints no other unit.
func msValue(s string) float64 {
	f := strings.Fields(s)
	if len(f) < 2 || f[1] != "ms" {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
