package pgserver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Faults a soak injects into a running server. Each acts on the postmaster
// and every process it started: PostgreSQL's children each make a session
// of their own, so a signal to the postmaster's process group would reach
// the postmaster alone.

// Kill ends the server as a power cut would: the postmaster is stopped, so
// that it starts nothing more, and then it and every process it started
// get SIGKILL at once. It returns once the postmaster has exited. The data
// directory is left as the crash left it; the next Start recovers it from
// the write-ahead log.
func (s *Server) Kill() error {
	if err := s.signalPostmaster(syscall.SIGSTOP); err != nil {
		return err
	}
	for _, pid := range s.children() {
		_ = syscall.Kill(pid, syscall.SIGKILL) // it may have exited meanwhile
	}
	if err := s.signalPostmaster(syscall.SIGKILL); err != nil {
		return err
	}
	return s.waitExit()
}

// CrashImmediate is PostgreSQL's immediate shutdown (pg_ctl stop -m
// immediate): SIGQUIT to the postmaster, which ends every session at once,
// without a checkpoint. It returns once the postmaster has exited; the
// next Start recovers from the write-ahead log.
func (s *Server) CrashImmediate() error {
	if err := s.signalPostmaster(syscall.SIGQUIT); err != nil {
		return err
	}
	return s.waitExit()
}

// Freeze stops the postmaster and every process it started (SIGSTOP), as
// a stalled machine would: connections stay open and nothing answers.
func (s *Server) Freeze() error {
	if err := s.signalPostmaster(syscall.SIGSTOP); err != nil {
		return err
	}
	for _, pid := range s.children() {
		_ = syscall.Kill(pid, syscall.SIGSTOP)
	}
	return nil
}

// Thaw resumes a server that Freeze stopped.
func (s *Server) Thaw() error {
	for _, pid := range s.children() {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	return s.signalPostmaster(syscall.SIGCONT)
}

// signalPostmaster sends sig to the postmaster, unless it has exited.
func (s *Server) signalPostmaster(sig syscall.Signal) error {
	select {
	case <-s.done:
		return fmt.Errorf("pgserver: postgres in %s is not running", s.dir)
	default:
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("pgserver: signal %v to postgres in %s: %w", sig, s.dir, err)
	}
	return nil
}

// waitExit waits for the postmaster to exit, for at most signalTimeout.
func (s *Server) waitExit() error {
	select {
	case <-s.done:
		return nil
	case <-time.After(signalTimeout):
		return fmt.Errorf("pgserver: postgres in %s still running %v after it was told to end", s.dir, signalTimeout)
	}
}

// children lists the processes whose parent is the postmaster, from /proc.
func (s *Server) children() []int {
	parent := s.cmd.Process.Pid
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // exited meanwhile
		}
		if ppid, err := parentOf(string(b)); err == nil && ppid == parent {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			out = append(out, pid)
		}
	}
	return out
}

// parentOf reads the parent pid from a /proc/PID/stat line: "pid (comm)
// state ppid ...", where comm may itself hold spaces and parentheses.
func parentOf(stat string) (int, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed stat line")
	}
	fields := strings.Fields(stat[i+1:])
	if len(fields) < 2 {
		return 0, errors.New("malformed stat line")
	}
	return strconv.Atoi(fields[1])
}
