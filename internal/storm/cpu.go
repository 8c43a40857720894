package storm

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc CPU times; 100 on every Linux
// that Go supports.
const clockTicks = 100

// CPUSecond is how busy the machine was in one second of a run, in cores:
// all of it, and the part this process and its children (the load, an
// in-process ledgerd and its PostgreSQL) used. The rest is other
// programs', which on a shared machine can swamp a measurement.
//
// With a ledgerd started from its binary, Storm is split in three:
// ledgerd's process, PostgreSQL (this process's other children), and the
// load tool (this process alone).
type CPUSecond struct {
	T        int     `json:"t"`
	Machine  float64 `json:"machine_cores"`
	Storm    float64 `json:"storm_cores"`
	Ledgerd  float64 `json:"ledgerd_cores,omitempty"`
	Postgres float64 `json:"postgres_cores,omitempty"`
	Load     float64 `json:"load_tool_cores,omitempty"`
}

// cpuSplit is a sample of the CPU times sampleCPU follows, in ticks.
type cpuSplit struct{ busy, tree, ledgerd, self int64 }

// sampleSplit reads the machine's busy time and the process times.
func sampleSplit(ledgerd int) (cpuSplit, bool) {
	busy, ok := machineTicks()
	if !ok {
		return cpuSplit{}, false
	}
	procs := procTable()
	s := cpuSplit{busy: busy, tree: procs.tree(os.Getpid()), self: procs[os.Getpid()].own}
	if ledgerd > 0 {
		s.ledgerd = procs.tree(ledgerd)
	}
	return s, true
}

// sampleCPU records CPU use once a second from t0 until ctx is done;
// ledgerd, if not 0, is the pid of a ledgerd started from its binary. It
// returns nothing where /proc cannot be read.
func sampleCPU(ctx context.Context, t0 time.Time, ledgerd int) []CPUSecond {
	var out []CPUSecond
	prev, ok := sampleSplit(ledgerd)
	if !ok {
		return nil
	}
	cores := func(ticks int64) float64 { return float64(ticks) / clockTicks }
	for i := 0; ; i++ {
		select {
		case <-time.After(time.Until(t0.Add(time.Duration(i+1) * time.Second))):
		case <-ctx.Done():
			return out
		}
		now, _ := sampleSplit(ledgerd)
		s := CPUSecond{T: i, Machine: cores(now.busy - prev.busy), Storm: cores(now.tree - prev.tree)}
		if ledgerd > 0 {
			s.Ledgerd, s.Load = cores(now.ledgerd-prev.ledgerd), cores(now.self-prev.self)
			s.Postgres = max(s.Storm-s.Ledgerd-s.Load, 0)
		}
		out = append(out, s)
		prev = now
	}
}

// machineTicks returns the busy time of all CPUs, from /proc/stat.
func machineTicks() (int64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, false
	}
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 { // idle and iowait are not busy
			busy += n
		}
	}
	return busy, true
}

// proc is one process's parent and CPU times, in ticks: its own, and with
// its reaped children's.
type proc struct {
	ppid       int
	own, ticks int64
}

// procs are the live processes, by pid.
type procs map[int]proc

// procTable reads every live process's times from /proc.
func procTable() procs {
	procs := procs{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range dirs {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// The command name may hold spaces; the fields after it do not.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 15 {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		ppid, _ := strconv.Atoi(f[1])
		var own, ticks int64
		for i, v := range f[11:15] { // utime, stime, cutime, cstime
			n, _ := strconv.ParseInt(v, 10, 64)
			if ticks += n; i < 2 {
				own += n
			}
		}
		procs[pid] = proc{ppid, own, ticks}
	}
	return procs
}

// tree returns the CPU time of process root and every live descendant,
// each with its reaped children's, so that time does not vanish when a
// backend exits.
func (procs procs) tree(root int) int64 {
	inTree := func(pid int) bool {
		for range 64 {
			if pid == root {
				return true
			}
			p, ok := procs[pid]
			if !ok || p.ppid <= 1 {
				return false
			}
			pid = p.ppid
		}
		return false
	}
	var total int64
	for pid, p := range procs {
		if inTree(pid) {
			total += p.ticks
		}
	}
	return total
}
