package main

import (
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/nginxtest"
)

// get fetches url on a fresh connection (so that per-connection rates are
// predictable) and returns the status and the body's length.
func get(t *testing.T, url string) (int, int64) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, n
}

func TestMixedRates(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	const size = 256 << 10
	data := make([]byte, size)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(root, "blob"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	// Connection 1 is Start's readiness probe, so the two fetches below are
	// connections 2 (even: slow) and 3 (odd: fast).
	opts := nginxtest.Options{Root: root}
	if err := addMixed(&opts, []int64{256 << 10, 4 << 20}); err != nil {
		t.Fatal(err)
	}
	s := nginxtest.Start(t, opts)

	var took [2]time.Duration
	for i := range took {
		start := time.Now()
		status, n := get(t, s.URL+"/mixed/blob")
		took[i] = time.Since(start)
		if status != http.StatusOK || n != size {
			t.Fatalf("GET /mixed/blob: %d, %d bytes", status, n)
		}
	}
	// 256 KiB at 256 KiB/s is ~1 s, less the first chunk (64 KiB here);
	// at 4 MiB/s it is ~50 ms.
	if took[0] < 500*time.Millisecond || took[1] > took[0]/2 {
		t.Errorf("mixed-rate GETs took %v and %v, want first >= 500ms and second much faster", took[0], took[1])
	}
	// Location / is unaffected by the mixed rates.
	if status, _ := get(t, s.URL+"/blob"); status != http.StatusOK {
		t.Errorf("GET /blob: %d", status)
	}
	total, requests, err := s.BodyBytesSent()
	if err != nil {
		t.Fatal(err)
	}
	if total != 3*size || requests != 3 {
		t.Errorf("BodyBytesSent = %d bytes, %d requests; want %d, 3", total, requests, 3*size)
	}
}

// TestMixedMap checks the generated map and location without running
// nginx.
func TestMixedMap(t *testing.T) {
	for _, tc := range []struct {
		rates []int64
		want  []string
		chunk bool
	}{
		{[]int64{7}, []string{"~[0123456789]$ 7;"}, true},
		{[]int64{1, 2}, []string{"~[02468]$ 1;", "~[13579]$ 2;"}, true},
		{[]int64{1, 2, 3}, []string{"~[0369]$ 1;", "~[147]$ 2;", "~[258]$ 3;"}, true},
		{[]int64{1 << 20, 0}, []string{"~[02468]$ 1048576;", "~[13579]$ 0;"}, false},
	} {
		var opts nginxtest.Options
		if err := addMixed(&opts, tc.rates); err != nil {
			t.Fatal(err)
		}
		if len(opts.HTTP) != 1 || len(opts.Locations) != 1 || opts.Locations[0].Prefix != "/mixed/" {
			t.Fatalf("rates %v: %+v", tc.rates, opts)
		}
		for _, w := range tc.want {
			if !strings.Contains(opts.HTTP[0], w) {
				t.Errorf("rates %v: map lacks %q: %s", tc.rates, w, opts.HTTP[0])
			}
		}
		if chunk := strings.Contains(strings.Join(opts.Locations[0].Directives, " "), "sendfile_max_chunk"); chunk != tc.chunk {
			t.Errorf("rates %v: sendfile_max_chunk %v, want %v", tc.rates, chunk, tc.chunk)
		}
	}
	var opts nginxtest.Options
	if err := addMixed(&opts, nil); err != nil || opts.HTTP != nil || opts.Locations != nil {
		t.Errorf("no rates: %v, %+v", err, opts)
	}
	for _, rates := range [][]int64{make([]int64, 11), {1, -1}} {
		if err := addMixed(&opts, rates); err == nil {
			t.Errorf("rates %v: no error", rates)
		}
	}
}
