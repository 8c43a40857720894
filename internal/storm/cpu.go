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
type CPUSecond struct {
	T       int     `json:"t"`
	Machine float64 `json:"machine_cores"`
	Storm   float64 `json:"storm_cores"`
}

// sampleCPU records CPU use once a second from t0 until ctx is done. It
// returns nothing where /proc cannot be read.
func sampleCPU(ctx context.Context, t0 time.Time) []CPUSecond {
	var out []CPUSecond
	busy0, ok := machineTicks()
	if !ok {
		return nil
	}
	own0 := treeTicks(os.Getpid())
	for i := 0; ; i++ {
		select {
		case <-time.After(time.Until(t0.Add(time.Duration(i+1) * time.Second))):
		case <-ctx.Done():
			return out
		}
		busy, _ := machineTicks()
		own := treeTicks(os.Getpid())
		out = append(out, CPUSecond{T: i, Machine: float64(busy-busy0) / clockTicks, Storm: float64(own-own0) / clockTicks})
		busy0, own0 = busy, own
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

// treeTicks returns the CPU time of process root and every live
// descendant, each with its reaped children's, so that time does not
// vanish when a backend exits.
func treeTicks(root int) int64 {
	type proc struct {
		ppid  int
		ticks int64
	}
	procs := map[int]proc{}
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
		var ticks int64
		for _, v := range f[11:15] { // utime, stime, cutime, cstime
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
		procs[pid] = proc{ppid, ticks}
	}
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
