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
)

// ErrDirLocked means another process holds the data directory's lock.
var ErrDirLocked = errors.New("data directory is in use")

// LockedError says which process holds a data directory.
type LockedError struct {
	Dir string
	// Pid and Command name the holder when it can be found (on Linux,
	// through /proc); Pid is 0 otherwise.
	Pid     int
	Command string
}

func (e *LockedError) Error() string {
	holder := "another process"
	if e.Pid > 0 {
		holder = fmt.Sprintf("process %d", e.Pid)
		if e.Command != "" {
			holder += " (" + e.Command + ")"
		}
	}
	return fmt.Sprintf("data directory %s is in use by %s, which owns its PostgreSQL: "+
		"run one ledgerd per data directory, or give this one another --data-dir", e.Dir, holder)
}

// Unwrap makes errors.Is(err, ErrDirLocked) hold.
func (e *LockedError) Unwrap() error { return ErrDirLocked }

// DirLock is an exclusive lock on a data directory, held by one process
// until Unlock or the process's end.
type DirLock struct{ f *os.File }

// LockDir takes an exclusive lock on dir, creating it (mode 0700) if it
// does not exist, without waiting: if another process holds it, it returns
// a *LockedError naming that process when it can.
//
// The lock is flock(2) on the directory itself, not on a file inside it:
// initdb refuses a directory that holds anything, and the lock must be
// taken before the cluster exists. The kernel releases it when the holder
// dies, however it dies, so a crash leaves no stale lock behind; the
// descriptor is close-on-exec, so the postmaster a holder starts does not
// keep it after the holder is gone.
func LockDir(dir string) (*DirLock, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	if err := os.Mkdir(abs, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real // as /proc shows the holder's descriptor
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := lockHolder(abs)
			return nil, &LockedError{Dir: abs, Pid: pid, Command: commandOf(pid)}
		}
		return nil, fmt.Errorf("pgserver: lock %s: %w", abs, err)
	}
	return &DirLock{f: f}, nil
}

// Unlock releases the lock; it is idempotent.
func (l *DirLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	// Unlock first: a child forked by another goroutine shares the open
	// file until its exec closes it, and while it does, closing ours alone
	// would not release the lock. LOCK_UN releases it for every sharer.
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

// lockHolder returns the pid that holds a flock on dir, or 0: the
// processes /proc/locks lists for dir's inode, confirmed by an open
// descriptor on dir, since an inode number alone may be another file
// system's.
func lockHolder(dir string) int {
	fi, err := os.Stat(dir)
	if err != nil {
		return 0
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer f.Close()
	suffix := ":" + strconv.FormatUint(st.Ino, 10)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 1234 08:01:131090 0 EOF"
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] != "FLOCK" || !strings.HasSuffix(fields[5], suffix) {
			continue
		}
		if pid, err := strconv.Atoi(fields[4]); err == nil && hasOpen(pid, dir) {
			return pid
		}
	}
	return 0
}

// hasOpen reports whether pid has a descriptor open on path.
func hasOpen(pid int, path string) bool {
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil && target == path {
			return true
		}
	}
	return false
}

// commandOf returns the name pid runs as, or "".
func commandOf(pid int) string {
	if pid <= 0 {
		return ""
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(comm))
}
