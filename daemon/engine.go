package daemon

import (
	"context"
	"net/http"
	"net/url"
	"sync"

	"github.com/netfox/netfox"
)

// engine is the daemon's only contact with the netfox library: every
// download is a *netfox.Transfer started by Client.Start on one Client,
// and the queue drives it through the handle (Pause, Resume, Cancel,
// SetLimitRate, Snapshot, Wait, Done). max-overall-download-limit is the
// Client's shared cap, changed at run time by Client.SetLimitRate, so it
// bounds every download together, whatever its proxy.
//
// A download with an all-proxy option goes through an HTTP client of its
// own (Request.HTTPClient, one per proxy, made on first use with
// netfox.NewHTTPClient and the daemon's transport settings), still within
// the Client's connection budget per host and its shared cap.
type engine struct {
	opts   netfox.ClientOptions
	client *netfox.Client

	mu      sync.Mutex
	limit   int64
	proxied map[string]*http.Client // by proxy URL
}

func newEngine(opts netfox.ClientOptions) *engine {
	return &engine{opts: opts, client: netfox.NewClient(opts), limit: opts.LimitRate, proxied: make(map[string]*http.Client)}
}

// start starts req through proxy (nil: the environment's) under ctx (its
// end, a shutdown, cancels the transfer).
func (e *engine) start(ctx context.Context, req netfox.Request, proxy *url.URL) (*netfox.Transfer, error) {
	if proxy != nil {
		req.HTTPClient = e.proxiedClient(proxy)
	}
	return e.client.Start(ctx, req)
}

// proxiedClient returns the HTTP client for proxy, made on first use.
func (e *engine) proxiedClient(proxy *url.URL) *http.Client {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := proxy.String()
	hc, ok := e.proxied[key]
	if !ok {
		transport := e.opts.Transport
		transport.Proxy = proxy
		perHost := e.opts.MaxConnectionsPerHost
		if perHost <= 0 {
			perHost = netfox.DefaultMaxConnectionsPerHost
		}
		hc = netfox.NewHTTPClient(perHost, transport)
		e.proxied[key] = hc
	}
	return hc
}

// setLimitRate changes the cap the downloads share, the running ones
// included.
func (e *engine) setLimitRate(bytesPerSecond int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.limit = bytesPerSecond
	e.client.SetLimitRate(bytesPerSecond)
}

func (e *engine) limitRate() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.limit
}

// close closes the idle connections; call it after every transfer has
// ended.
func (e *engine) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, hc := range e.proxied {
		hc.CloseIdleConnections()
	}
	_ = e.client.Close()
}
