package soak

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// proxy forwards TCP connections from a loopback port to the database and
// injects the network's faults on them: latency added to every chunk
// either way, and connections cut (and new ones refused for a while).
type proxy struct {
	target string
	ln     net.Listener
	// delay is added before each chunk is passed on, in nanoseconds.
	delay atomic.Int64
	// refuseUntil, in Unix nanoseconds, closes connections as they arrive.
	refuseUntil atomic.Int64

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // both ends of every open link
	closed bool
	wg     sync.WaitGroup
}

// newProxy listens on a free loopback port and forwards to target.
func newProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the address clients connect to.
func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // too many open files, and the like
			continue
		}
		if time.Now().UnixNano() < p.refuseUntil.Load() {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go p.link(c)
	}
}

// link connects c to the target and copies both ways until either side
// closes or the link is cut.
func (p *proxy) link(c net.Conn) {
	defer p.wg.Done()
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, up) {
		return
	}
	done := make(chan struct{}, 2)
	go func() { p.pipe(up, c); done <- struct{}{} }()
	go func() { p.pipe(c, up); done <- struct{}{} }()
	<-done // one way ended: end both, as a broken connection does
	p.untrack(c, up)
	<-done
}

// pipe copies src to dst, holding each chunk for the current delay.
func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := time.Duration(p.delay.Load()); d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
			}
			return
		}
	}
}

func (p *proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *proxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		c.Close()
		delete(p.conns, c)
	}
}

// slow adds d to every chunk either way from now on; 0 ends the slowness.
func (p *proxy) slow(d time.Duration) { p.delay.Store(int64(d)) }

// cut closes every open connection, as a broken network does, and refuses
// new ones for refuseFor. It returns how many connections it cut.
func (p *proxy) cut(refuseFor time.Duration) int {
	p.refuseUntil.Store(time.Now().Add(refuseFor).UnixNano())
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // a reset, not an orderly close
		}
		c.Close()
	}
	n := len(p.conns) / 2
	clear(p.conns)
	return n
}

// heal ends every fault: no delay, nothing refused.
func (p *proxy) heal() {
	p.slow(0)
	p.refuseUntil.Store(0)
}

// Close stops listening and cuts every connection.
func (p *proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}
