//go:build !linux

package cockroach

import (
	"errors"
	"net"
)

func reniceBackend(net.Conn, int, int) error { return errors.New("only on Linux") }
