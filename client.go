package netfox

import (
	"context"
	"errors"
	"fmt"
	"github.com/netfox/netfox/fileaccess"
	"github.com/netfox/netfox/internal/syserr"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"

	"github.com/netfox/netfox/byterange"
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
	perHost   int64
	limiter   *rate.Limiter

	// bufs are the read buffers of all the Client's downloads.
	bufs sync.Pool

	mu    sync.Mutex
	hosts map[string]*semaphore.Weighted
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
		perHost:   int64(perHost),
		limiter:   newLimiter(opts.LimitRate),
		hosts:     map[string]*semaphore.Weighted{},
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

// BatchOptions configure DownloadAll.
type BatchOptions struct {
	// Parallel is the number of files downloaded at once; zero means 4.
	Parallel int
	// OnStart, when set, is called once per request as its download
	// begins, with the request's index and a copy of it that it may
	// change (Progress, Notify, OnRetry), from the goroutine that runs it.
	OnStart func(i int, req *Request)
	// OnDone, when set, is called once per request as its download
	// ends, from the goroutine that ran it.
	OnDone func(i int, res Result, err error)
}

// BatchResult is the outcome of one request of a batch.
type BatchResult struct {
	Result Result
	// Err is nil for a file saved.
	Err error
}

// DownloadAll downloads reqs, opts.Parallel at a time, and returns one
// result per request, in the order of reqs. A failed file does not stop
// the others. A file that failed for want of a local resource (too many
// open files, a full disk) is tried once more after the others, alone,
// when the pressure they made is gone; its partial download resumes.
// Requests not started when ctx ends fail with an error wrapping
// ctx.Err().
func (c *Client) DownloadAll(ctx context.Context, reqs []Request, opts BatchOptions) []BatchResult {
	results := make([]BatchResult, len(reqs))
	prepared := make([]Request, len(reqs))
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = 4
	}
	done := func(i int) {
		if opts.OnDone != nil {
			opts.OnDone(i, results[i].Result, results[i].Err)
		}
	}
	var g errgroup.Group
	g.SetLimit(parallel)
	for i := range reqs {
		if ctx.Err() != nil {
			results[i].Err = fmt.Errorf("%w: not started", ctx.Err())
			done(i)
			continue
		}
		g.Go(func() error {
			prepared[i] = reqs[i]
			if opts.OnStart != nil {
				opts.OnStart(i, &prepared[i])
			}
			res, err := c.Download(ctx, prepared[i])
			results[i] = BatchResult{Result: res, Err: err}
			if !localPressure(err) {
				done(i)
			}
			return nil
		})
	}
	g.Wait()
	for i := range reqs {
		if !localPressure(results[i].Err) {
			continue
		}
		if ctx.Err() == nil {
			res, err := c.Download(ctx, prepared[i])
			results[i] = BatchResult{Result: res, Err: err}
		}
		done(i)
	}
	return results
}

// localPressure reports whether err is a shortage of a local resource
// that the other downloads of a batch may have caused.
func localPressure(err error) bool {
	return syserr.TooManyFiles(err) || fileaccess.DiskFull(err) || syserr.NoBuffers(err)
}

// hostSlots returns the connection budget of rawURL's host.
func (c *Client) hostSlots(rawURL string) *semaphore.Weighted {
	key := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		key = u.Scheme + "://" + strings.ToLower(u.Host)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.hosts[key]
	if s == nil {
		s = semaphore.NewWeighted(c.perHost)
		c.hosts[key] = s
	}
	return s
}

// hostSlot waits for one connection of slots' budget and returns the
// function that gives it back (once, however often called).
func hostSlot(ctx context.Context, slots *semaphore.Weighted) (func(), error) {
	if err := slots.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { slots.Release(1) }) }, nil
}

// primed is the body of the download's first request, the file's bytes
// [0, end) (end < 0: a stream of unknown length), with the connection
// slot it holds. The segment that starts at zero reads it as its first
// piece instead of asking again (segment.Fetcher.FirstPiece).
type primed struct {
	mu      sync.Mutex
	body    io.ReadCloser // nil once handed on or closed
	end     int64
	release func()
	claimed bool
}

// claim reserves the body for an attempt at r, and reports whether it
// did, with the function that gives its slot back: the attempt takes
// the slot over, for the pieces it asks for after this one.
func (p *primed) claim(r byterange.Range) (func(), bool) {
	if p == nil {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.body == nil || p.claimed || r.Start != 0 {
		return nil, false
	}
	p.claimed = true
	return p.release, true
}

// firstPiece is the end of the bytes the body holds, for
// segment.Fetcher.FirstPiece: 0 when there is no body or its end is not
// known.
func (p *primed) firstPiece() int64 {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.body == nil || p.end < 0 {
		return 0
	}
	return p.end
}

// take hands on the claimed body, limited to r, or returns nil. The
// body was opened before the attempt that reads it: it is closed when
// ctx, the attempt's, ends, as a body the attempt opened would be.
func (p *primed) take(ctx context.Context, r byterange.Range) io.ReadCloser {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.body == nil || !p.claimed || r.Start != 0 {
		return nil
	}
	body := p.body
	p.body = nil
	stop := context.AfterFunc(ctx, func() { body.Close() })
	return &primedBody{r: io.LimitReader(body, r.Len()), body: body, stop: stop}
}

// close drops the body if nobody took it, freeing its slot (unless an
// attempt claimed it, which gives the slot back itself).
func (p *primed) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.body != nil {
		p.body.Close()
		p.body = nil
		if !p.claimed {
			p.release()
		}
	}
}

type primedBody struct {
	r    io.Reader
	body io.Closer
	stop func() bool
}

func (b *primedBody) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *primedBody) Close() error {
	b.stop()
	return b.body.Close()
}

// gate is the segment.Fetcher Gate of a download: the primed body's slot
// for the attempt that reads it, else one of the budget of o's host (a
// mirror's own, the URL's for the rest).
func (d *downloader) gate(ctx context.Context, r byterange.Range, o segment.Opener) (func(), error) {
	if s, ok := o.(*source); ok && s.slots != nil {
		return hostSlot(ctx, s.slots)
	}
	if release, ok := d.primed.claim(r); ok {
		return release, nil
	}
	return hostSlot(ctx, d.slots)
}

// reportProgress calls req.OnProgress every req.ProgressInterval until
// the function it returns is called, which makes the last call. req is
// the downloader's, with its defaults applied (withDefaults): a zero or
// negative interval the caller gave is the default by then.
func reportProgress(req Request) (stop func()) {
	if req.OnProgress == nil {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(req.ProgressInterval)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				req.OnProgress(req.Progress.Snapshot())
				return
			case <-tick.C:
				if snap := req.Progress.Snapshot(); snap.Path != "" {
					req.OnProgress(snap)
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}
