package serve

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/testdir"
)

// start serves dir with opts on loopback until the test ends.
func start(t *testing.T, opts Options) (*Server, string) {
	srv, base, stop := startStoppable(t, opts)
	t.Cleanup(stop)
	return srv, base
}

// startStoppable is start with the server's stop function, which returns
// once every handler has returned, so that counters are final.
func startStoppable(t *testing.T, opts Options) (*Server, string, func()) {
	t.Helper()
	srv := New(opts)
	base, stop, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return srv, base, stop
}

func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConditionalRanges checks the answers RFC 9110 requires (sections
// 14.2, 13.1.5, 15.3.7, 15.5.17).
func TestConditionalRanges(t *testing.T) {
	dir := testdir.New(t)
	data := []byte(strings.Repeat("0123456789", 10))
	writeFile(t, dir, "f", data)
	_, base := start(t, Options{Dir: dir})

	head, err := http.Head(base + "/f")
	if err != nil {
		t.Fatal(err)
	}
	etag, lastModified := head.Header.Get("ETag"), head.Header.Get("Last-Modified")
	if head.ContentLength != 100 || head.Header.Get("Accept-Ranges") != "bytes" || etag == "" || strings.HasPrefix(etag, "W/") || lastModified == "" {
		t.Fatalf("HEAD: length %d, headers %v", head.ContentLength, head.Header)
	}

	tests := []struct {
		name         string
		rangeHdr     string
		ifRange      string
		status       int
		contentRange string
		body         string
	}{
		{"range", "bytes=10-19", "", 206, "bytes 10-19/100", "0123456789"},
		{"open range", "bytes=95-", "", 206, "bytes 95-99/100", "56789"},
		{"suffix range", "bytes=-3", "", 206, "bytes 97-99/100", "789"},
		{"range past the end is clipped", "bytes=98-200", "", 206, "bytes 98-99/100", "89"},
		{"If-Range with the ETag", "bytes=0-4", etag, 206, "bytes 0-4/100", "01234"},
		{"If-Range with another ETag: whole file", "bytes=0-4", `"other"`, 200, "", string(data)},
		{"If-Range with the date", "bytes=0-4", lastModified, 206, "bytes 0-4/100", "01234"},
		{"If-Range with another date: whole file", "bytes=0-4", "Mon, 02 Jan 2006 15:04:05 GMT", 200, "", string(data)},
		{"unsatisfiable", "bytes=100-", "", 416, "bytes */100", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, base+"/f", nil)
			req.Header.Set("Range", tt.rangeHdr)
			if tt.ifRange != "" {
				req.Header.Set("If-Range", tt.ifRange)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Range") != tt.contentRange {
				t.Fatalf("status %d Content-Range %q; want %d %q", resp.StatusCode, resp.Header.Get("Content-Range"), tt.status, tt.contentRange)
			}
			if tt.status != 416 && string(body) != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
		})
	}
}

func TestETagFollowsTheFile(t *testing.T) {
	dir := testdir.New(t)
	writeFile(t, dir, "f", []byte("one"))
	_, base := start(t, Options{Dir: dir})
	etag := func() string {
		resp, err := http.Head(base + "/f")
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Get("ETag")
	}
	before := etag()
	writeFile(t, dir, "f", []byte("two, longer"))
	if after := etag(); after == before {
		t.Fatalf("ETag %s unchanged after the file changed", after)
	}
}

func TestNotFoundAndTraversal(t *testing.T) {
	dir := testdir.New(t)
	writeFile(t, dir, "f", []byte("x"))
	// A file beside the served directory, and a link to it inside.
	outside := testdir.New(t)
	writeFile(t, outside, "secret", []byte("not to be served"))
	served := filepath.Join(outside, "www")
	os.Mkdir(served, 0o755)
	writeFile(t, served, "f", []byte("x"))
	linked := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(served, "link")) == nil
	_, base := start(t, Options{Dir: served})
	paths := []string{"/missing", "/../../etc/passwd", "/", "/../secret", "/..%2fsecret",
		`/..%5csecret`, `/..%5c..%5cWindows%5cwin.ini`, "/link"}
	if !linked {
		t.Log("no symbolic link made here: /link is not checked")
	}
	for _, path := range paths {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, resp.StatusCode)
		}
	}
}

// TestMaxConns holds one request in its latency and checks that a second
// concurrent one gets 503 with Retry-After.
func TestMaxConns(t *testing.T) {
	dir := testdir.New(t)
	writeFile(t, dir, "f", []byte("x"))
	srv, base := start(t, Options{Dir: dir, MaxConns: 1, Latency: 2 * time.Second})
	first := make(chan int, 1)
	go func() {
		resp, err := http.Get(base + "/f")
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	for i := 0; srv.active.Load() == 0; i++ {
		if i > 2000 {
			t.Fatal("first request never became active")
		}
		time.Sleep(time.Millisecond)
	}
	resp, err := http.Get(base + "/f")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second request: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code := <-first; code != http.StatusOK {
		t.Errorf("first request: %d", code)
	}
}

// TestRatePerConn measures the cap as a ratio: four connections fetching
// a quarter each must be much faster than one fetching it all.
func TestRatePerConn(t *testing.T) {
	const size, rate = 1 << 20, 1 << 20
	dir := testdir.New(t)
	writeFile(t, dir, "f", make([]byte, size))
	srv, base, stop := startStoppable(t, Options{Dir: dir, RatePerConn: rate})
	defer stop()
	fetch := func(rangeHdr string) {
		req, _ := http.NewRequest(http.MethodGet, base+"/f", nil)
		if rangeHdr != "" {
			req.Header.Set("Range", rangeHdr)
		}
		// A fresh connection per request: the cap is per connection.
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	began := time.Now()
	fetch("")
	one := time.Since(began)

	began = time.Now()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fetch("bytes=" + itoa(i*size/4) + "-" + itoa((i+1)*size/4-1))
		}()
	}
	wg.Wait()
	four := time.Since(began)
	if ratio := one.Seconds() / four.Seconds(); ratio < 2.5 {
		t.Errorf("1 connection %v, 4 connections %v: ratio %.2f, want > 2.5", one, four, ratio)
	}
	stop() // every handler has counted its bytes
	if got := srv.BytesSent(); got != 2*size {
		t.Errorf("BytesSent %d, want %d", got, 2*size)
	}
}

// TestRateTotal: with a link cap, four connections are no faster than one.
func TestRateTotal(t *testing.T) {
	const size = 512 << 10
	dir := testdir.New(t)
	writeFile(t, dir, "f", make([]byte, size))
	_, base := start(t, Options{Dir: dir, RateTotal: 1 << 20})
	began := time.Now()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, base+"/f", nil)
			req.Header.Set("Range", "bytes="+itoa(i*size/4)+"-"+itoa((i+1)*size/4-1))
			resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()
	// 512 KiB through a 1 MiB/s link cannot take much less than 0.5 s,
	// less the limiter's initial burst.
	if d := time.Since(began); d < 400*time.Millisecond {
		t.Errorf("512 KiB over four connections behind a 1 MiB/s link took %v", d)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
