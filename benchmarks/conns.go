package main

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// connCounter is a TCP forwarder on loopback in front of Ory: a verifier configured with
// its URL (core.Config.SDKURL) reaches Ory through it with the transport the core builds
// itself, exactly as a user's verifier would, and the forwarder counts the TCP connections
// the verifier opens. That is the figure of issue 8.5: new connections to Ory (each one a
// TCP and, against Ory Network, a TLS handshake) must stay under 3 × concurrency however
// many requests miss the cache. Bytes are copied without being parsed (splice(2) between
// the two sockets on Linux), so the forwarder adds little to a whoami call.
type connCounter struct {
	URL string // http://127.0.0.1:port, to use as the verifier's SDKURL

	ln     net.Listener
	target string // host:port of Ory

	accepted atomic.Int64 // connections accepted so far
	open     atomic.Int64 // connections open now
	peak     atomic.Int64 // most connections open at once

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// newConnCounter starts a forwarder to target (host:port) on 127.0.0.1:0.
func newConnCounter(target string) (*connCounter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &connCounter{URL: "http://" + ln.Addr().String(), ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	c.wg.Go(c.serve)
	return c, nil
}

func (c *connCounter) serve() {
	for {
		in, err := c.ln.Accept()
		if err != nil {
			return // closed
		}
		c.accepted.Add(1)
		n := c.open.Add(1)
		for {
			p := c.peak.Load()
			if n <= p || c.peak.CompareAndSwap(p, n) {
				break
			}
		}
		c.wg.Go(func() {
			defer c.open.Add(-1)
			c.forward(in)
		})
	}
}

// forward copies between in and a new connection to the target until either side closes.
func (c *connCounter) forward(in net.Conn) {
	out, err := net.Dial("tcp", c.target)
	if err != nil {
		_ = in.Close()
		return
	}
	if !c.track(in, out) {
		_ = in.Close()
		_ = out.Close()
		return
	}
	defer c.untrack(in, out)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(out, in)
		closeWrite(out)
	}()
	_, _ = io.Copy(in, out)
	closeWrite(in)
	<-done
	_ = in.Close()
	_ = out.Close()
}

// closeWrite passes a half-close on: the other side sees EOF and may still answer.
func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

func (c *connCounter) track(conns ...net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	for _, n := range conns {
		c.conns[n] = struct{}{}
	}
	return true
}

func (c *connCounter) untrack(conns ...net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range conns {
		delete(c.conns, n)
	}
}

// Accepted is how many connections were opened through the forwarder so far.
func (c *connCounter) Accepted() int64 { return c.accepted.Load() }

// Peak is the most connections that were open at once.
func (c *connCounter) Peak() int64 { return c.peak.Load() }

// Close stops accepting, closes every forwarded connection and waits for the copies to end.
func (c *connCounter) Close() {
	_ = c.ln.Close()
	c.mu.Lock()
	c.closed = true
	for n := range c.conns {
		_ = n.Close()
	}
	c.mu.Unlock()
	c.wg.Wait()
}
