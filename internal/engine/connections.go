package engine

import (
	"context"
	"net"
	"net/http/httptrace"
	"sync"
)

// connCounter counts the distinct TCP connections that a download's HTTP
// requests went over: what the summary reports as "connections", since a
// transport may put several requests on one connection (keep-alive, or
// HTTP/2 streams with a caller's own client) or open more than the
// workers (a slow connection replaced).
type connCounter struct {
	mu   sync.Mutex
	seen map[net.Conn]struct{}
}

// trace returns ctx with a client trace that records each connection a
// request gets.
func (c *connCounter) trace(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.seen == nil {
				c.seen = map[net.Conn]struct{}{}
			}
			c.seen[info.Conn] = struct{}{}
		},
	})
}

// count is the number of distinct connections seen.
func (c *connCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
