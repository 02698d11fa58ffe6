package nginxtest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/daemon"
)

// writeRandom creates dir/name with n random bytes and returns the content.
func writeRandom(t *testing.T, dir, name string, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return data
}

// get fetches url on a fresh connection (so per-connection rates are
// predictable) and returns the response with its body read.
func get(t *testing.T, url, rangeHdr string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rangeHdr != "" {
		req.Header.Set("Range", rangeHdr)
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func checkBytesSent(t *testing.T, s *Server, wantTotal int64, wantRequests int) {
	t.Helper()
	total, n, err := s.BodyBytesSent()
	if err != nil {
		t.Fatal(err)
	}
	if total != wantTotal || n != wantRequests {
		t.Errorf("BodyBytesSent = %d bytes, %d requests; want %d, %d", total, n, wantTotal, wantRequests)
	}
}

func TestServeAndRanges(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	const size = 1 << 20
	data := writeRandom(t, root, "blob", size)
	s := Start(t, Options{Root: root})

	resp, body := get(t, s.URL+"/blob", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /blob: %s", resp.Status)
	}
	if sha256.Sum256(body) != sha256.Sum256(data) {
		t.Fatalf("GET /blob: body differs (got %d bytes)", len(body))
	}
	if resp.Header.Get("ETag") == "" {
		t.Errorf("GET /blob: no ETag")
	}

	resp, body = get(t, s.URL+"/blob", "bytes=10-19")
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("Range GET /blob: %s, want 206", resp.Status)
	}
	if got, want := resp.Header.Get("Content-Range"), "bytes 10-19/1048576"; got != want {
		t.Errorf("Content-Range = %q, want %q", got, want)
	}
	if !bytes.Equal(body, data[10:20]) {
		t.Errorf("Range body = %x, want %x", body, data[10:20])
	}

	resp, body = get(t, s.URL+"/noranges/blob", "bytes=10-19")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Range GET /noranges/blob: %s, want 200", resp.Status)
	}
	if !bytes.Equal(body, data) {
		t.Errorf("Range GET /noranges/blob: body differs (got %d bytes)", len(body))
	}

	checkBytesSent(t, s, 2*size+10, 3)
	// The barrier request itself must not be counted.
	checkBytesSent(t, s, 2*size+10, 3)
}

func TestRatePerConn(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	const size = 512 << 10
	writeRandom(t, root, "blob", size)
	s := Start(t, Options{Root: root, RatePerConn: 1 << 20})

	start := time.Now()
	resp, body := get(t, s.URL+"/blob", "")
	elapsed := time.Since(start)
	if resp.StatusCode != http.StatusOK || len(body) != size {
		t.Fatalf("GET /blob: %s, %d bytes", resp.Status, len(body))
	}
	// 512 KiB at 1 MiB/s is ~0.5 s, less the first chunk that goes out
	// before the first pause (64 KiB here), so ~0.44 s. Only a lower bound
	// is safe to assert.
	if elapsed < 350*time.Millisecond {
		t.Errorf("rate-limited GET took %v, want >= 350ms", elapsed)
	}
	checkBytesSent(t, s, size, 1)
}

func TestStartProcess(t *testing.T) {
	t.Parallel()
	if Binary() == "" {
		daemon.Missing(t, "nginx not installed (apt-get install nginx-light)")
	}
	root := t.TempDir()
	writeRandom(t, root, "blob", 100)
	s, stop, err := StartProcess(Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, s.URL+"/blob", ""); resp.StatusCode != http.StatusOK || len(body) != 100 {
		t.Errorf("GET /blob: %s, %d bytes", resp.Status, len(body))
	}
	if err := stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	if err := stop(); err != nil {
		t.Errorf("second stop: %v", err)
	}
	if _, err := os.Stat(s.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir %s not removed: %v", s.Dir(), err)
	}
	if _, err := http.Get(s.URL + "/blob"); err == nil {
		t.Errorf("nginx still answering after stop")
	}
}

func TestStartProcessErrors(t *testing.T) {
	t.Parallel()
	for _, opts := range []Options{
		{},
		{Root: filepath.Join(t.TempDir(), "missing")},
		{Root: t.TempDir(), RatePerConn: -1},
		{Root: t.TempDir(), Locations: []Location{{Prefix: "mixed"}}},
		{Root: t.TempDir(), Locations: []Location{{Prefix: "/a b/"}}},
	} {
		if _, _, err := StartProcess(opts); err == nil {
			t.Errorf("StartProcess(%+v): no error", opts)
		}
	}
}

// TestLocations checks the config of Options.Locations and HTTP without
// running nginx.
func TestLocations(t *testing.T) {
	conf := config("/tmp/x", 8080, 0, Options{Root: "/srv", HTTP: []string{"map $connection $r { default 7; }"},
		Locations: []Location{{Prefix: "/slow/", Directives: []string{"limit_rate $r;"}}}})
	for _, w := range []string{"  map $connection $r { default 7; }\n", "    location /slow/ {\n      alias \"/srv/\";\n      limit_rate $r;\n    }\n"} {
		if !strings.Contains(conf, w) {
			t.Errorf("config lacks %q:\n%s", w, conf)
		}
	}
}

func TestSmoothChunk(t *testing.T) {
	for _, tc := range []struct {
		rates []int64
		want  int64
	}{
		{[]int64{1 << 20}, 64 << 10},
		{[]int64{256 << 10, 4 << 20}, 64 << 10},
		{[]int64{1 << 20, 1 << 30}, 16 << 20},
		{[]int64{100}, 1024},
		{[]int64{1 << 20, 0}, 0},
		{nil, 0},
	} {
		if got := SmoothChunk(tc.rates...); got != tc.want {
			t.Errorf("SmoothChunk(%v) = %d, want %d", tc.rates, got, tc.want)
		}
	}
}
