package testserver

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// SilentProxy is a TCP proxy on loopback in front of a server in which
// every Every-th connection goes silent for good: after passing After
// bytes from the server (0: not even the response headers) it drops
// whatever else the server sends, and holds the connection open until the
// client closes it. That is toxiproxy's timeout toxic with timeout 0, on
// a deterministic share of the connections instead of a random one.
type SilentProxy struct {
	// Addr is the proxy's host:port.
	Addr string

	ln       net.Listener
	target   string
	every    int64
	after    int64
	accepted atomic.Int64
	silenced atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	open     map[net.Conn]bool
	closed   bool
}

// NewSilentProxy starts a proxy to target (host:port) on 127.0.0.1 in
// which connections number every, 2*every, ... (counting from 1) go silent
// after after bytes of the server's answer. every <= 0 silences none.
func NewSilentProxy(target string, every int, after int64) (*SilentProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &SilentProxy{Addr: ln.Addr().String(), ln: ln, target: target, every: int64(every), after: after, open: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Reset counts connections from 1 again: a benchmark resets the proxy
// before each run, so that every tool meets the same pattern.
func (p *SilentProxy) Reset() { p.accepted.Store(0) }

// Silenced is the number of connections silenced so far.
func (p *SilentProxy) Silenced() int64 { return p.silenced.Load() }

// Close stops the proxy and closes every connection through it.
func (p *SilentProxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// track registers c to be closed by Close; false when closing already.
func (p *SilentProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.open[c] = true
	return true
}

func (p *SilentProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.open, c)
	p.mu.Unlock()
	c.Close()
}

func (p *SilentProxy) serve() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		n := p.accepted.Add(1)
		silent := p.every > 0 && n%p.every == 0
		if silent {
			p.silenced.Add(1)
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.relay(client, silent)
		}()
	}
}

// relay copies between client and a new connection to the target until
// either side closes; a silent connection passes only p.after bytes of
// the server's answer.
func (p *SilentProxy) relay(client net.Conn, silent bool) {
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(server) {
		return
	}
	defer p.untrack(server)
	up, down := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(up)
		io.Copy(server, client) // requests; ends when the client closes
	}()
	go func() {
		defer close(down)
		if !silent {
			io.Copy(client, server)
			return
		}
		io.Copy(client, io.LimitReader(server, p.after))
		io.Copy(io.Discard, server) // dropped, as a dead path would
	}()
	if silent {
		<-up // held open until the client gives up
	} else {
		select {
		case <-up:
		case <-down:
		}
	}
	client.Close()
	server.Close()
	<-up
	<-down
}
