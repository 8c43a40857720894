package bench

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Machine is where the benchmark ran: figures mean little without it.
type Machine struct {
	CPUs     int               `json:"cpus"` // usable by this process, as nproc counts them
	CPUModel string            `json:"cpu_model"`
	MemGiB   float64           `json:"mem_gib"`
	Kernel   string            `json:"kernel"`
	Go       string            `json:"go"`
	Postgres string            `json:"postgres"`
	Settings map[string]string `json:"postgres_settings"`
	Pgbench  string            `json:"pgbench,omitempty"`
}

// settingsShown are the server settings that decide these figures.
var settingsShown = []string{"fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "max_connections",
	"max_pred_locks_per_transaction", "max_pred_locks_per_page",
	"max_pred_locks_per_relation"}

// ProbeMachine describes this machine and the PostgreSQL at dbURL, for
// any report of figures or of a run.
func ProbeMachine(ctx context.Context, dbURL string) Machine { return probeMachine(ctx, dbURL, nil) }

func probeMachine(ctx context.Context, dbURL string, pb *pgbench) Machine {
	m := Machine{
		CPUs: runtime.NumCPU(), CPUModel: procField("/proc/cpuinfo", "model name"),
		Kernel: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(), Settings: map[string]string{},
	}
	if rel, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel += " " + strings.TrimSpace(string(rel))
	}
	if kb, err := strconv.ParseFloat(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB"), 64); err == nil {
		m.MemGiB = float64(int(kb/(1<<20)*10)) / 10
	}
	_ = withConn(ctx, dbURL, func(c *pgx.Conn) error {
		_ = c.QueryRow(ctx, "SHOW server_version").Scan(&m.Postgres)
		for _, name := range settingsShown {
			var v string
			if c.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v) == nil {
				m.Settings[name] = v
			}
		}
		return nil
	})
	if pb != nil {
		if out, err := exec.CommandContext(ctx, pb.bin, "--version").Output(); err == nil {
			m.Pgbench = strings.TrimSpace(string(out))
		}
	}
	return m
}

// procField returns the value of the first "name: value" line in a /proc file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
