package daemon

import (
	"context"
	"net/url"
	"sync"

	"github.com/netfox/netfox"
)

// engine is the daemon's only contact with the netfox library: every
// download is a *netfox.Transfer started by Client.Start, and the queue
// drives it through the handle (Pause, Resume, Cancel, SetLimitRate,
// Snapshot, Wait, Done). max-overall-download-limit is the Client's shared
// cap, changed at run time by Client.SetLimitRate.
//
// A download with an all-proxy option needs a transport of its own, which
// the library fixes per Client: the engine keeps one Client per proxy
// (the environment's proxy settings for none), made on first use. Each
// Client has its own shared cap, so with several proxies in use the
// overall limit applies to each group of downloads, not to their sum.
type engine struct {
	opts netfox.ClientOptions

	mu      sync.Mutex
	limit   int64
	clients map[string]*netfox.Client // by proxy URL; "" = the environment's
}

func newEngine(opts netfox.ClientOptions) *engine {
	return &engine{opts: opts, limit: opts.LimitRate, clients: make(map[string]*netfox.Client)}
}

// start starts req through proxy (nil: the environment's) under ctx (its
// end, a shutdown, cancels the transfer).
func (e *engine) start(ctx context.Context, req netfox.Request, proxy *url.URL) (*netfox.Transfer, error) {
	return e.client(proxy).Start(ctx, req)
}

// client returns the Client for proxy, made on first use.
func (e *engine) client(proxy *url.URL) *netfox.Client {
	key := ""
	if proxy != nil {
		key = proxy.String()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.clients[key]
	if !ok {
		opts := e.opts
		opts.LimitRate = e.limit
		opts.Transport.Proxy = proxy
		c = netfox.NewClient(opts)
		e.clients[key] = c
	}
	return c
}

// setLimitRate changes the cap the downloads share, the running ones
// included.
func (e *engine) setLimitRate(bytesPerSecond int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.limit = bytesPerSecond
	for _, c := range e.clients {
		c.SetLimitRate(bytesPerSecond)
	}
}

func (e *engine) limitRate() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.limit
}

// close closes the clients; call it after every transfer has ended.
func (e *engine) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.clients {
		_ = c.Close()
	}
}
