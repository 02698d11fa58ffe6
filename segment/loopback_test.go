package segment_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/netfox/netfox/byterange"
	"github.com/netfox/netfox/internal/clock"
	"github.com/netfox/netfox/segment"
	"github.com/netfox/netfox/siteinfo"
)

// The tests of this package's external side fetch over real HTTP on
// loopback: a Go net/http server whose handler misbehaves on purpose, the
// siteinfo client that netfox uses (so errors are classified as in a
// real download), and the exported Fetcher and Run.

// testTimeout bounds every fetch of these tests; reaching it fails the
// test rather than measuring anything.
const testTimeout = 30 * time.Second

// fileData is size pseudo-random bytes: a byte written at the wrong
// offset does not go unnoticed.
func fileData(size int) []byte {
	rng := rand.New(rand.NewPCG(uint64(size), 12))
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// rangeRequest is a range request as the server saw it.
type rangeRequest struct {
	start, end int64     // [start, end)
	at         time.Time // on the server's clock
}

// misbehave answers a range request of the test's choosing; it returns
// false to let the file be served normally. n counts the range requests
// from 1, body is the bytes asked for.
type misbehave func(n int, w http.ResponseWriter, r *http.Request, req rangeRequest) bool

// fileServer serves one file over HTTP, honestly until armed with a
// misbehave function (after the probe).
type fileServer struct {
	data    []byte
	srv     *httptest.Server
	modTime time.Time
	stop    chan struct{} // closed at the end of the test: handlers that hold a connection let go
	// clock is what the times of the requests are read on: the test's
	// fake clock, when it has one; nil means the wall clock.
	clock clock.Clock

	mu       sync.Mutex
	hook     misbehave
	requests []rangeRequest
}

func newFileServer(t *testing.T, data []byte) *fileServer {
	t.Helper()
	fs := &fileServer{data: data, modTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), stop: make(chan struct{})}
	fs.srv = httptest.NewServer(fs)
	t.Cleanup(fs.srv.Close)
	t.Cleanup(func() { close(fs.stop) }) // runs before Close
	return fs
}

func (fs *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	hook := fs.hook
	var req rangeRequest
	n := 0
	if hook != nil && r.Method == http.MethodGet {
		var first, last int64
		if _, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &first, &last); err != nil {
			fs.mu.Unlock()
			http.Error(w, "test server: want a closed range", http.StatusBadRequest)
			return
		}
		req = rangeRequest{start: first, end: last + 1, at: clock.Or(fs.clock).Now()}
		fs.requests = append(fs.requests, req)
		n = len(fs.requests)
	}
	fs.mu.Unlock()
	if n > 0 && hook(n, w, r, req) {
		return
	}
	http.ServeContent(w, r, "file", fs.modTime, bytes.NewReader(fs.data))
}

// arm makes the server answer range requests through hook from now on.
func (fs *fileServer) arm(hook misbehave) {
	fs.mu.Lock()
	fs.hook = hook
	fs.mu.Unlock()
}

// rangeRequests returns the range requests seen since arm.
func (fs *fileServer) rangeRequests() []rangeRequest {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]rangeRequest(nil), fs.requests...)
}

// remote probes the file as netfox does and returns its opener, with a
// transport of its own.
func (fs *fileServer) remote(t *testing.T) *siteinfo.Remote {
	t.Helper()
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	c := &siteinfo.Client{HTTP: &http.Client{Transport: tr}}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	info, err := c.Probe(ctx, fs.srv.URL+"/file")
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	if info.Length != int64(len(fs.data)) {
		t.Fatalf("probe: length %d, want %d", info.Length, len(fs.data))
	}
	return &siteinfo.Remote{Client: c, Info: info}
}

// writeHead sends the headers of an honest 206 answer to req.
func (fs *fileServer) writeHead(w http.ResponseWriter, req rangeRequest) {
	h := w.Header()
	h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", req.start, req.end-1, len(fs.data)))
	h.Set("Content-Length", fmt.Sprint(req.end-req.start))
	h.Set("Last-Modified", fs.modTime.Format(http.TimeFormat))
	w.WriteHeader(http.StatusPartialContent)
}

// send writes p and pushes it to the network.
func send(w http.ResponseWriter, p []byte) {
	w.Write(p)
	http.NewResponseController(w).Flush()
}

// cutAfter answers req honestly but closes the connection after k bytes
// of the body.
func (fs *fileServer) cutAfter(w http.ResponseWriter, req rangeRequest, k int64) {
	fs.writeHead(w, req)
	send(w, fs.data[req.start:req.start+k])
	panic(http.ErrAbortHandler) // net/http closes the connection, quietly
}

// status answers with code and, when not empty, a Retry-After.
func status(w http.ResponseWriter, code int, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	http.Error(w, http.StatusText(code), code)
}

// memOut is an in-memory output; written counts the bytes written to it.
type memOut struct {
	mu      sync.Mutex
	buf     []byte
	written counter
}

func newMemOut(size int) *memOut { return &memOut{buf: make([]byte, size)} }

func (m *memOut) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	n := copy(m.buf[off:], p)
	m.mu.Unlock()
	m.written.add(int64(n))
	return n, nil
}

func (m *memOut) equal(data []byte) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Equal(m.buf, data)
}

// counter is a count that a test can wait on.
type counter struct {
	mu      sync.Mutex
	n       int64
	changed chan struct{} // closed at the next add; guarded by mu
}

func (c *counter) add(d int64) {
	c.mu.Lock()
	c.n += d
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
	c.mu.Unlock()
}

func (c *counter) load() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// waitFor waits until the count reaches n; it fails the test when ctx
// ends first.
func (c *counter) waitFor(t *testing.T, ctx context.Context, n int64) {
	t.Helper()
	for {
		c.mu.Lock()
		if c.n >= n {
			c.mu.Unlock()
			return
		}
		if c.changed == nil {
			c.changed = make(chan struct{})
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("count %d, waited for %d: %v", c.load(), n, ctx.Err())
		}
	}
}

// readCounting is an Opener whose bodies count the bytes the fetcher
// read from them (as they come off the network).
type readCounting struct {
	segment.Opener
	read counter
}

func (o *readCounting) OpenRange(ctx context.Context, r byterange.Range) (io.ReadCloser, error) {
	body, err := o.Opener.OpenRange(ctx, r)
	if err != nil {
		return nil, err
	}
	return countingBody{body, &o.read}, nil
}

type countingBody struct {
	io.ReadCloser
	read *counter
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read.add(int64(n))
	return n, err
}

// epoch is where the tests' fake clocks start.
var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// withClock runs fn while advancing clk through each wait on it of at
// most upTo (a retry wait), as soon as one begins, and returns those
// waits in order and fn's error. Longer waits (the monitor's tick, the
// idle rechecks, the stall window) are left waiting, so a test takes no
// time and the retries are the fetcher's own, whatever the load of the
// machine.
func withClock(t *testing.T, clk *clock.Fake, upTo time.Duration, fn func() error) ([]time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(fetchCtx(t))
	defer cancel()
	finished := make(chan struct{})
	var err error
	go func() {
		defer close(finished)
		defer cancel()
		err = fn()
	}()
	var waits []time.Duration
	short := func(left []time.Duration) bool { return len(left) > 0 && left[0] <= upTo }
	for clk.WaitFor(ctx, short) == nil {
		if left := clk.Pending(); short(left) {
			clk.Advance(left[0])
			waits = append(waits, left[0])
		}
	}
	select {
	case <-finished:
	case <-time.After(testTimeout): // a bound that fails the test
		t.Fatal("fn did not end before the test's deadline")
	}
	return waits, err
}

// newTable splits size into n idle segments.
func newTable(size int64, n int) *segment.Table {
	t := &segment.Table{}
	for _, r := range byterange.Split(size, n) {
		t.Add(r.Start, r.Start, r.Start, r.End)
	}
	return t
}

// fetchCtx is a context bounded by testTimeout.
func fetchCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// eventLog records the events a Fetcher tells.
type eventLog struct {
	mu     sync.Mutex
	events []segment.Event
}

func (l *eventLog) add(e segment.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) all() []segment.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]segment.Event(nil), l.events...)
}

// of returns the events of kind, in order.
func (l *eventLog) of(kind segment.EventKind) []segment.Event {
	var of []segment.Event
	for _, e := range l.all() {
		if e.Kind == kind {
			of = append(of, e)
		}
	}
	return of
}
