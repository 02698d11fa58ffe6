package netfox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/netfox/netfox/internal/engine"
	"github.com/netfox/netfox/segment"
)

// ClientOptions configure a Client.
type ClientOptions struct {
	// Transport holds the proxy, TLS and cookie settings of the shared
	// HTTP transport.
	Transport TransportOptions
	// UserAgent is sent with every request whose Request sets neither
	// UserAgent nor a User-Agent header; empty means DefaultUserAgent.
	UserAgent string
	// MaxConnectionsPerHost bounds the connections open at once to one
	// host by all the downloads of the Client together, whatever their
	// Connections say. Zero means DefaultMaxConnectionsPerHost.
	MaxConnectionsPerHost int
	// LimitRate caps all the downloads of the Client together at this
	// many bytes per second; zero means no cap.
	LimitRate int64
	// DialContext, when set, opens the Client's TCP connections (to bind
	// a local address, or to watch them); nil means a net.Dialer's.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Client runs downloads over one HTTP transport and its pool of
// connections, which a program that fetches many files should share:
// connections are reused from one file to the next, closed after 90s
// idle and by Close, and the connections open to each host stay within a
// budget. A Client is safe for concurrent use; its zero value is not
// usable, call NewClient.
type Client struct {
	http      *http.Client
	userAgent string
	budget    *engine.Budget
	limiter   *segment.Limit // shared by all downloads

	// bufs are the read buffers of all the Client's downloads.
	bufs sync.Pool
}

// NewClient returns a Client with opts. Close it when done.
func NewClient(opts ClientOptions) *Client {
	perHost := opts.MaxConnectionsPerHost
	if perHost <= 0 {
		perHost = DefaultMaxConnectionsPerHost
	}
	ua := opts.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	hc := NewHTTPClient(perHost, opts.Transport)
	if t, ok := hc.Transport.(*http.Transport); ok {
		// The budget is enforced before a request is sent (see
		// hostSlot); the transport's cap only backs it up.
		t.MaxConnsPerHost = perHost
		if opts.DialContext != nil {
			t.DialContext = opts.DialContext
		}
	}
	return &Client{
		http:      hc,
		userAgent: ua,
		budget:    engine.NewBudget(perHost),
		limiter:   segment.NewLimit(opts.LimitRate),
	}
}

// Close closes the idle connections of the Client's transport. Downloads
// still running go on; the Client stays usable.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// Download fetches req.URL into req.Output, resuming a partial download
// that an earlier run left there. It returns an error wrapping one of the
// package's sentinel errors (or a *StatusError) on failure, and leaves
// the .part and .info files in place so that a later call resumes. When
// ctx ends the download, the error wraps ctx.Err().
func (c *Client) Download(ctx context.Context, req Request) (Result, error) {
	if err := clientRequest(req); err != nil {
		return Result{}, err
	}
	return c.download(ctx, req)
}

// clientRequest refuses what a Client's own settings decide for every
// request it runs.
func clientRequest(req Request) error {
	if !req.Transport.isZero() {
		return fmt.Errorf("%w: Request.Transport is set on the Client (ClientOptions.Transport) when a Client runs the request", ErrUsage)
	}
	return nil
}

func (c *Client) download(ctx context.Context, req Request) (Result, error) {
	t, err := c.start(ctx, req)
	if err != nil {
		return Result{}, err
	}
	return t.Wait()
}

// endError is the error a download or a stream returns: err as the
// public API shows it, wrapping ctx's error when ctx ended it.
func endError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return public(err)
}

// Download fetches req with a Client of its own, made from req.Transport
// and a per-host budget of at least req.Connections, and closed at the
// end. A program that downloads several files should share a Client
// instead.
func Download(ctx context.Context, req Request) (Result, error) {
	c, req, err := ownClient(req)
	if err != nil {
		return Result{}, err
	}
	defer c.Close()
	return c.download(ctx, req)
}

// ownClient is the Client of a one-call download (Download, Stream): made
// from req.Transport, which it takes out of the returned request, with a
// per-host budget of at least req.Connections. The caller closes it.
func ownClient(req Request) (*Client, Request, error) {
	if req.HTTPClient != nil && !req.Transport.isZero() {
		return nil, req, errConflictingClient
	}
	most := req.Connections
	if most == AutoConnections {
		most = req.AutoMax // zero: DefaultAutoMax, within the default budget
	}
	c := NewClient(ClientOptions{
		Transport:             req.Transport,
		MaxConnectionsPerHost: max(DefaultMaxConnectionsPerHost, most),
	})
	req.Transport = TransportOptions{}
	return c, req, nil
}

var errConflictingClient = fmt.Errorf("%w: both HTTPClient and Transport are set; Transport applies only to the client netfox builds (set it on HTTPClient's transport instead)", ErrUsage)

func (o TransportOptions) isZero() bool { return o.Proxy == nil && o.TLS == nil && o.Jar == nil }

// env is what c gives a download of req, capped by own (the
// transfer's limiter) and c's shared limiter.
func (c *Client) env(req Request, own *segment.Limit) engine.Env {
	httpClient := req.HTTPClient
	if httpClient == nil {
		httpClient = c.http
	}
	return engine.Env{HTTP: httpClient, UserAgent: c.userAgent, Budget: c.budget, Buffers: &c.bufs,
		Limits: []*segment.Limit{own, c.limiter}}
}
