package pgserver

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// StopStale stops a postmaster still running on dataDir, typically left by
// an owner process that was killed; it does nothing if none is running.
func StopStale(dataDir string) error {
	pidFile := filepath.Join(dataDir, "postmaster.pid")
	pid := readPid(pidFile)
	if pid <= 0 || !alive(pid) {
		return nil // postgres itself replaces a postmaster.pid whose process is gone
	}
	if !isPostgres(pid) {
		// The pid was reused by an unrelated process, which would make
		// postgres refuse to start.
		if err := os.Remove(pidFile); err != nil {
			return fmt.Errorf("pgserver: remove stale %s: %w", pidFile, err)
		}
		return nil
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGKILL} {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("pgserver: stop stale postmaster (pid %d) on %s: %w", pid, dataDir, err)
		}
		for deadline := time.Now().Add(signalTimeout); time.Now().Before(deadline); {
			if !alive(pid) {
				return nil
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return fmt.Errorf("pgserver: stale postmaster (pid %d) on %s does not exit", pid, dataDir)
}

// readPid returns the pid on the first line of postmaster.pid, or 0.
func readPid(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// alive reports whether pid exists and is not a zombie; zombies stay around
// when a killed owner's orphans land on a PID 1 that does not reap them.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) // no /proc, or pid just exited
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// isPostgres reports whether pid runs the postgres binary; without /proc it assumes so.
func isPostgres(pid int) bool {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return true
	}
	name := strings.TrimSpace(string(comm))
	return name == "postgres" || name == "postmaster"
}
