// Package procstat reads what Linux's /proc says of a process.
package procstat

import (
	"errors"
	"os"
	"strconv"
	"strings"
)

// Parent returns the parent pid of process pid, from /proc.
func Parent(pid int) (int, error) { return field(pid, 1) }

// Nice returns the nice value of process pid, from /proc.
func Nice(pid int) (int, error) { return field(pid, 16) }

// ParentOf reads the parent pid from a /proc/PID/stat line: "pid (comm)
// state ppid ...", where comm may itself hold spaces and parentheses.
func ParentOf(stat string) (int, error) { return fieldOf(stat, 1) }

// field reads process pid's /proc stat line and returns its numeric field
// i after comm: 0 is the state, 1 the parent pid, 16 the nice value.
func field(pid, i int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return fieldOf(string(b), i)
}

func fieldOf(stat string, i int) (int, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("malformed stat line")
	}
	fields := strings.Fields(stat[end+1:])
	if len(fields) <= i {
		return 0, errors.New("malformed stat line")
	}
	return strconv.Atoi(fields[i])
}
