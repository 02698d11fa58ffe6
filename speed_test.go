package netfox_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/nginxtest"
	"github.com/netfox/netfox/internal/testserver"
	"github.com/netfox/netfox/serve"
)

// TestSlowConnectionsDoNotHoldUp: two of four connections run at an
// eighth of the others' speed; the others take their work over, the
// download is byte-identical, no byte is fetched twice, and no more
// connections are replaced than the two slow ones (whether the slow rule
// replaces them before stealing has left them little is the segment
// package's TestSlowFirstConnectionsReplaced).
func TestSlowConnectionsDoNotHoldUp(t *testing.T) {
	content := randomBytes(8<<20, 70)
	srv := testserver.New(t, content, testserver.SlowFirst(3, 256<<10), testserver.RatePerResponse(2<<20))
	out := filepath.Join(t.TempDir(), "out")
	res, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 4})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	if res.Reconnects > 2 {
		t.Errorf("%d connections replaced; two were slow (log: %q)", res.Reconnects, srv.Log())
	}
	if res.Fetched > int64(len(content)) {
		t.Errorf("fetched %d bytes for %d: a replaced connection's bytes were fetched twice", res.Fetched, len(content))
	}
}

// TestPoliteOnOverload: a server that answers 503 beyond two concurrent
// requests gets fewer connections, and the download still completes.
func TestPoliteOnOverload(t *testing.T) {
	dir := t.TempDir()
	content := randomBytes(2<<20, 71)
	if err := os.WriteFile(filepath.Join(dir, "f"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	base, stop, err := serve.New(serve.Options{Dir: dir, MaxConns: 2, RatePerConn: 4 << 20}).Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	out := filepath.Join(t.TempDir(), "out")
	var got notices
	res, err := netfox.Download(context.Background(), netfox.Request{URL: base + "/f", Output: out, Connections: 8, MinSplit: 64 << 10, OnEvent: got.add})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	if !got.has(netfox.EventOverloaded) || res.Parallel >= 8 {
		t.Errorf("parallel connections %d, notices %v; want fewer than 8 and one notice", res.Parallel, got.msgs)
	}
}

// TestLimitRate: a 1 MiB/s cap on a fast local server holds the download
// to at least the time the cap allows. Only that bound is asserted: load on
// the machine can slow a download, never speed it past its cap.
func TestLimitRate(t *testing.T) {
	content := randomBytes(2<<20, 72)
	srv := testserver.New(t, content)
	timed := func(limit int64) time.Duration {
		out := filepath.Join(t.TempDir(), "out")
		began := time.Now()
		if _, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 4, LimitRate: limit}); err != nil {
			t.Fatal(err)
		}
		assertFile(t, out, content)
		return time.Since(began)
	}
	// 2 MiB at 1 MiB/s: 2 s, less the first burst of an eighth of a second.
	if limited := timed(1 << 20); limited < 1800*time.Millisecond {
		t.Errorf("limited to 1 MiB/s: 2 MiB in %v, want at least 1.8 s", limited)
	}
}

// TestEachByteOnce: nginx serves the file, uncapped (where a request
// cut short costs what sat in the socket buffers, megabytes on loopback)
// and capped per connection: it serves no more than 2% over the file,
// over no more TCP connections than the download's and one.
func TestEachByteOnce(t *testing.T) {
	for _, tt := range []struct {
		name  string
		size  int
		conns int
		rate  int64
	}{
		{"open loopback", 64 << 20, 8, 0},
		{"capped alike", 16 << 20, 4, 4 << 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			content := randomBytes(tt.size, 73)
			if err := os.WriteFile(filepath.Join(dir, "f"), content, 0o644); err != nil {
				t.Fatal(err)
			}
			ngx := nginxtest.Start(t, nginxtest.Options{Root: dir, RatePerConn: tt.rate})
			out := filepath.Join(t.TempDir(), "out")
			res, err := netfox.Download(context.Background(), netfox.Request{URL: ngx.URL + "/f", Output: out, Connections: tt.conns})
			if err != nil {
				t.Fatal(err)
			}
			assertFile(t, out, content)
			served, requests, err := ngx.BodyBytesSent()
			if err != nil {
				t.Fatal(err)
			}
			if float64(served) > 1.02*float64(len(content)) {
				t.Errorf("served %d bytes for %d (%.3fx)", served, len(content), float64(served)/float64(len(content)))
			}
			if res.Connections > tt.conns+1 {
				t.Errorf("%d TCP connections for %d", res.Connections, tt.conns)
			}
			t.Logf("%d requests, %d connections, %.3fx served, %d replaced", requests, res.Connections, float64(served)/float64(len(content)), res.Reconnects)
		})
	}
}
