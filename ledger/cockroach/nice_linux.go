package cockroach

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/corebanking/ledger/internal/procstat"
)

// reniceBackend sets process pid's nice value, if conn is a Unix socket
// whose listener is pid's parent: the server process of this very session.
func reniceBackend(conn net.Conn, pid, nice int) error {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return errors.New("not a Unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if credErr != nil {
		return fmt.Errorf("peer credentials: %w", credErr)
	}
	ppid, err := procstat.Parent(pid)
	if err != nil {
		return err
	}
	if ppid != int(cred.Pid) {
		return fmt.Errorf("process %d is the child of %d, not of the socket's listener %d", pid, ppid, cred.Pid)
	}
	return syscall.Setpriority(syscall.PRIO_PROCESS, pid, nice)
}
