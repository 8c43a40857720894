package procstat

import (
	"os"
	"runtime"
	"syscall"
	"testing"
)

func TestParentOf(t *testing.T) {
	for _, c := range []struct {
		stat string
		want int
	}{
		{"42 (postgres) S 7 42 42 0", 7},
		{"42 (a) b (c) S 9 42", 9}, // a comm with spaces and parentheses
	} {
		if got, err := ParentOf(c.stat); err != nil || got != c.want {
			t.Errorf("ParentOf(%q) = %d, %v; want %d", c.stat, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "42 postgres S 7", "42 (x) S"} {
		if _, err := ParentOf(bad); err == nil {
			t.Errorf("ParentOf(%q) accepted", bad)
		}
	}
}

func TestSelf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	if got, err := Parent(os.Getpid()); err != nil || got != os.Getppid() {
		t.Fatalf("Parent(self) = %d, %v; want %d", got, err, os.Getppid())
	}
	want, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The raw system call returns 20 - nice.
	if got, err := Nice(os.Getpid()); err != nil || got != 20-want {
		t.Fatalf("Nice(self) = %d, %v; want %d", got, err, 20-want)
	}
}
