package soak

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// echo serves a line-echoing TCP server until the test ends.
func echo(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return l.Addr().String()
}

// roundTrip sends a line over c and reads it back.
func roundTrip(c net.Conn) error {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	_, err := bufio.NewReader(c).ReadString('\n')
	return err
}

// The proxy passes bytes both ways; a cut breaks the connections it
// carries and refuses new ones until the time is up or it is healed.
func TestProxyCut(t *testing.T) {
	p, err := newProxy(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := roundTrip(c); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	if n := p.cut(time.Hour); n != 1 {
		t.Fatalf("cut %d connections, want 1", n)
	}
	if err := roundTrip(c); err == nil {
		t.Fatal("a cut connection still carries bytes")
	}
	refused, err := net.Dial("tcp", p.Addr())
	if err == nil {
		err = roundTrip(refused)
		refused.Close()
	}
	if err == nil {
		t.Fatal("a new connection got through while the proxy refuses them")
	}
	p.heal()
	healed, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer healed.Close()
	if err := roundTrip(healed); err != nil {
		t.Fatalf("after healing: %v", err)
	}
}
