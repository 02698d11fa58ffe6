package main

import (
	"bytes"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder serves data with ServeContent and keeps every request's
// headers and request URI.
type recorder struct {
	data []byte
	mu   sync.Mutex
	reqs []*http.Request
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, r.Clone(r.Context()))
	rec.mu.Unlock()
	http.ServeContent(w, r, "f.bin", time.Unix(1_700_000_000, 0), bytes.NewReader(rec.data))
}

// all reports whether every request satisfies ok.
func (rec *recorder) all(ok func(*http.Request) bool) bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, r := range rec.reqs {
		if !ok(r) {
			return false
		}
	}
	return len(rec.reqs) > 0
}

func TestRequestOptions(t *testing.T) {
	t.Parallel()
	data := content(200_000, 20)
	netrcFile := filepath.Join(t.TempDir(), "netrc")
	os.WriteFile(netrcFile, []byte("machine 127.0.0.1 login nina password fromnetrc\n"), 0o600)
	cookies := filepath.Join(t.TempDir(), "cookies.txt")
	os.WriteFile(cookies, []byte("127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\tcookie-value\n"), 0o600)

	tests := []struct {
		name string
		args func(url string) []string
		want func(*http.Request) bool
	}{
		{"headers and user agent", func(u string) []string {
			return []string{"-H", "X-Trace: 42", "-H", "Accept-Language: fr", "--user-agent", "test-agent/1", u}
		}, func(r *http.Request) bool {
			return r.Header.Get("X-Trace") == "42" && r.Header.Get("Accept-Language") == "fr" && r.UserAgent() == "test-agent/1"
		}},
		{"credentials in the URL", func(u string) []string {
			return []string{strings.Replace(u, "http://", "http://ann:pw1@", 1)}
		}, func(r *http.Request) bool { u, p, ok := r.BasicAuth(); return ok && u == "ann" && p == "pw1" }},
		{"--user", func(u string) []string { return []string{"--user", "bo:pw2", u} },
			func(r *http.Request) bool { u, p, ok := r.BasicAuth(); return ok && u == "bo" && p == "pw2" }},
		{"netrc", func(u string) []string { return []string{"--netrc-file", netrcFile, u} },
			func(r *http.Request) bool { u, p, ok := r.BasicAuth(); return ok && u == "nina" && p == "fromnetrc" }},
		{"cookies", func(u string) []string { return []string{"--load-cookies", cookies, u} },
			func(r *http.Request) bool { c, err := r.Cookie("sid"); return err == nil && c.Value == "cookie-value" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{data: data}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			dir := t.TempDir()
			args := append([]string{"get", "-q", "-n", "4", "-o", "out"}, tt.args(srv.URL+"/f.bin")...)
			if stderr, code := run(t, dir, args...); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			sameFile(t, filepath.Join(dir, "out"), data)
			if !rec.all(tt.want) {
				t.Errorf("not every request carried what was asked")
			}
		})
	}
}

// TestProxy: with --proxy, every request goes to the proxy with the
// target's absolute URL.
func TestProxy(t *testing.T) {
	t.Parallel()
	data := content(200_000, 21)
	proxy := &recorder{data: data} // answers itself, as a caching proxy would
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	dir := t.TempDir()
	target := "http://files.invalid/f.bin" // never resolved: the proxy answers
	if stderr, code := run(t, dir, "get", "-q", "-o", "out", "--proxy", srv.URL, target); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	sameFile(t, filepath.Join(dir, "out"), data)
	if !proxy.all(func(r *http.Request) bool { return r.RequestURI == target }) {
		t.Error("a request did not go through the proxy with the absolute URL")
	}
}

func TestTLSOptions(t *testing.T) {
	t.Parallel()
	data := content(100_000, 22)
	srv := httptest.NewTLSServer(&recorder{data: data})
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	for name, flags := range map[string][]string{"--ca-cert": {"--ca-cert", caFile}, "--insecure": {"--insecure"}} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			args := append(append([]string{"get", "-q", "-o", "out"}, flags...), srv.URL+"/f.bin")
			if stderr, code := run(t, dir, args...); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			sameFile(t, filepath.Join(dir, "out"), data)
		})
	}
}
