package netfox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/testserver"
)

// TestDeadlineIsDeadline: a download cut by a context deadline returns an
// error for which errors.Is(err, context.DeadlineExceeded) holds, however
// it was fetching: ranged, one stream, rate-limited ranged or stream.
func TestDeadlineIsDeadline(t *testing.T) {
	content := randomBytes(4<<20, 90)
	tests := []struct {
		name  string
		opts  []testserver.Option
		limit int64
	}{
		{"ranged", []testserver.Option{testserver.RatePerResponse(256 << 10)}, 0},
		{"one stream", []testserver.Option{testserver.RatePerResponse(256 << 10), testserver.IgnoreRanges()}, 0},
		{"rate-limited ranged", nil, 256 << 10},
		{"rate-limited stream", []testserver.Option{testserver.IgnoreRanges()}, 256 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.New(t, content, tt.opts...)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			var retries int
			_, err := netfox.Download(ctx, netfox.Request{
				URL: srv.FileURL, Output: filepath.Join(t.TempDir(), "out"), Connections: 4, MinSplit: 64 << 10,
				LimitRate: tt.limit, OnEvent: func(e netfox.Event) {
					if e.Kind == netfox.EventRetry {
						retries++
					}
				},
			})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want an error wrapping context.DeadlineExceeded", err)
			}
			if retries > 0 {
				t.Errorf("%d retries reported: the deadline is not a failure to retry", retries)
			}
		})
	}
}

// connWatch counts a client's open TCP connections, and the most at
// once, as its dialer: a connection counts from its dial to its Close.
type connWatch struct {
	mu        sync.Mutex
	open, max int
	total     int
}

func (c *connWatch) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.open++
	c.total++
	c.max = max(c.max, c.open)
	return &watchedConn{Conn: conn, w: c}, nil
}

type watchedConn struct {
	net.Conn
	w    *connWatch
	once sync.Once
}

func (c *watchedConn) Close() error {
	c.once.Do(func() {
		c.w.mu.Lock()
		c.w.open--
		c.w.mu.Unlock()
	})
	return c.Conn.Close()
}

// TestClientBatchBudget: twenty 3 MiB files through one Client with a
// per-host budget of 8, eight files at once of up to eight connections
// each: the server never sees more than 8 connections at once, and no
// file reports a reconnect (waiting for the budget is not slowness).
func TestClientBatchBudget(t *testing.T) {
	content := randomBytes(3<<20, 91)
	var watch connWatch
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(&throttled{ResponseWriter: w, rate: 8 << 20}, r, "", time.Unix(1e9, 0), bytes.NewReader(content))
	}))
	srv.Start()
	defer srv.Close()
	base := srv.URL

	client := netfox.NewClient(netfox.ClientOptions{MaxConnectionsPerHost: 8, DialContext: watch.dial})
	defer client.Close()
	dir := t.TempDir()
	var reqs []netfox.Request
	for i := range 20 {
		reqs = append(reqs, netfox.Request{URL: fmt.Sprintf("%s/f%02d.bin", base, i), Output: filepath.Join(dir, fmt.Sprintf("f%02d", i)), Connections: 8})
	}
	for i, r := range client.DownloadAll(context.Background(), reqs, netfox.BatchOptions{Parallel: 8}) {
		if r.Err != nil {
			t.Fatalf("file %d: %v", i, r.Err)
		}
		assertFile(t, r.Result.Path, content)
		if r.Result.Reconnects > 0 {
			t.Errorf("file %d: %d reconnects", i, r.Result.Reconnects)
		}
	}
	watch.mu.Lock()
	defer watch.mu.Unlock()
	t.Logf("connections: %d at most at once, %d in all", watch.max, watch.total)
	if watch.max > 8 {
		t.Errorf("%d connections at once, want at most 8", watch.max)
	}
}

// throttled caps a response at rate bytes/s: files take long enough for
// the downloads of a batch to overlap.
type throttled struct {
	http.ResponseWriter
	rate int64
}

func (s *throttled) Write(p []byte) (int, error) {
	n, err := s.ResponseWriter.Write(p)
	time.Sleep(time.Duration(int64(n) * int64(time.Second) / s.rate))
	return n, err
}

// TestRequestCheckedFirst: a Request that cannot succeed is refused with
// ErrUsage before any request is sent.
func TestRequestCheckedFirst(t *testing.T) {
	content := randomBytes(1000, 92)
	srv := testserver.New(t, content)
	tests := map[string]netfox.Request{
		"unknown algorithm": {Checksum: &netfox.Checksum{Algo: "SHA-256", Sum: make([]byte, 32)}},
		"short sum":         {Checksum: &netfox.Checksum{Algo: "sha256", Sum: make([]byte, 20)}},
		"client and transport": {HTTPClient: http.DefaultClient,
			Transport: netfox.TransportOptions{Proxy: &url.URL{Scheme: "http", Host: "127.0.0.1:1"}}},
		"negative rate": {LimitRate: -1},
	}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			req.URL, req.Output = srv.FileURL, filepath.Join(t.TempDir(), "out")
			before := len(srv.Log())
			_, err := netfox.Download(context.Background(), req)
			if !errors.Is(err, netfox.ErrUsage) {
				t.Fatalf("got %v, want ErrUsage", err)
			}
			if n := len(srv.Log()) - before; n > 0 {
				t.Errorf("%d requests sent before the refusal", n)
			}
		})
	}
}

// TestUserAgent: netfox names itself unless told otherwise.
func TestUserAgent(t *testing.T) {
	var mu sync.Mutex
	var agents []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		agents = append(agents, r.UserAgent())
		mu.Unlock()
		http.ServeContent(w, r, "", time.Unix(1e9, 0), strings.NewReader("hello"))
	}))
	defer srv.Close()
	for _, tt := range []struct{ set, want string }{{"", netfox.DefaultUserAgent}, {"probe/1.0", "probe/1.0"}} {
		agents = nil
		if _, err := netfox.Download(context.Background(), netfox.Request{URL: srv.URL + "/f", Output: filepath.Join(t.TempDir(), "f"), UserAgent: tt.set}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		for _, a := range agents {
			if a != tt.want {
				t.Errorf("User-Agent %q, want %q", a, tt.want)
			}
		}
		mu.Unlock()
	}
	if !strings.HasPrefix(netfox.DefaultUserAgent, "netfox/") {
		t.Errorf("DefaultUserAgent %q does not name netfox", netfox.DefaultUserAgent)
	}
}

// TestPublicErrorTypes: a failure to connect and an unexpected status are
// found with errors.As as the root package's own types, with their fields
// filled, and the error messages name no CLI flag.
func TestPublicErrorTypes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there now: the connection is refused

	dir := t.TempDir()
	_, err = netfox.Download(context.Background(), netfox.Request{URL: "http://" + closed + "/f", Output: filepath.Join(dir, "a"), MaxTries: 1})
	var netErr *netfox.NetError
	if !errors.As(err, &netErr) || netErr.Err == nil || !strings.Contains(closed, netErr.Host) {
		t.Fatalf("refused: got %v (%#v), want a *netfox.NetError for %s", err, netErr, closed)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("refused: %v does not wrap ECONNREFUSED", err)
	}

	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err = netfox.Download(context.Background(), netfox.Request{URL: srv.URL + "/missing", Output: filepath.Join(dir, "b")})
	var status *netfox.StatusError
	if !errors.As(err, &status) || status.Code != http.StatusNotFound || status.URL != srv.URL+"/missing" || !strings.HasPrefix(status.Status, "404") {
		t.Fatalf("404: got %v (%#v), want a *netfox.StatusError 404 for the URL", err, status)
	}
	if status.Error() != err.Error() && !strings.Contains(err.Error(), status.Error()) {
		t.Errorf("404: StatusError says %q, the error %q", status.Error(), err.Error())
	}
}

// TestStat: what the server says about a file, without downloading it:
// its length and ranges, and a server that ignores ranges says so.
func TestStat(t *testing.T) {
	content := randomBytes(300_000, 41)
	c := netfox.NewClient(netfox.ClientOptions{})
	defer c.Close()
	for _, tt := range []struct {
		name   string
		opts   []testserver.Option
		ranges bool
	}{
		{"ranges", nil, true},
		{"no ranges", []testserver.Option{testserver.NoAcceptRanges(), testserver.IgnoreRanges()}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.New(t, content, append(tt.opts, testserver.Named("data.bin"))...)
			fi, err := c.Stat(context.Background(), netfox.Request{URL: srv.FileURL})
			if err != nil {
				t.Fatal(err)
			}
			if fi.Length != int64(len(content)) || fi.Ranges != tt.ranges || fi.Filename != "data.bin" || fi.URL != srv.FileURL {
				t.Fatalf("Stat = %+v, want %d bytes, ranges %v, data.bin at %s", fi, len(content), tt.ranges, srv.FileURL)
			}
		})
	}
	if _, err := c.Stat(context.Background(), netfox.Request{URL: "gopher://x/"}); !errors.Is(err, netfox.ErrUsage) {
		t.Fatalf("a bad URL: %v, want ErrUsage", err)
	}
}
