package netfox_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/testserver"
	"github.com/netfox/netfox/serve"
)

// TestProbeSilentHedged: the first request of a download goes to a
// connection that never answers (the server holds it until the client
// gives up). A second request beside it answers, and the download
// completes long before the 30 s response-header timeout; the context's
// deadline is a bound that fails the test, not a measurement.
func TestProbeSilentHedged(t *testing.T) {
	dir := t.TempDir()
	content := randomBytes(1<<20, 92)
	if err := os.WriteFile(filepath.Join(dir, "f"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	files := serve.New(serve.Options{Dir: dir})
	var requests, silenced atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			silenced.Add(1)
			<-r.Context().Done() // silent until abandoned
			return
		}
		files.ServeHTTP(w, r)
	}))
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := filepath.Join(t.TempDir(), "out")
	if _, err := netfox.Download(ctx, netfox.Request{URL: ts.URL + "/f", Output: out, Connections: 4}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Fatal("wrong bytes")
	}
	if silenced.Load() != 1 {
		t.Fatalf("%d requests silenced, want 1", silenced.Load())
	}
}

// TestFirstRequestIsTheFirstPiece: a download's first request is a GET
// of its first piece (MinSplit bytes), whose answer gives the length and
// validators and whose body is kept: no HEAD, no second request for any
// byte of that piece, nothing served twice, and the first request's
// connection kept for the next piece. A file no larger than a
// piece costs that one request.
func TestFirstRequestIsTheFirstPiece(t *testing.T) {
	for _, tt := range []struct {
		name     string
		size     int
		requests int // 0: not checked
	}{
		{"one piece", 300_000, 1},
		{"several pieces", 5 << 20, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			content := randomBytes(tt.size, 93)
			srv := testserver.New(t, content)
			out := filepath.Join(t.TempDir(), "out")
			res, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 4})
			if err != nil {
				t.Fatal(err)
			}
			assertFile(t, out, content)
			// The first request's connection carries its segment's next
			// request: no more connections than the download's four.
			if res.Connections > 4 {
				t.Errorf("%d TCP connections for 4 segments", res.Connections)
			}
			srv.Close() // waits for the handlers, which log as they end
			log := srv.Log()
			if tt.requests > 0 && len(log) != tt.requests {
				t.Errorf("%d requests, want %d: %q", len(log), tt.requests, log)
			}
			var served int64
			for i, line := range log {
				var method, rng, ifRange string
				var status int
				var n int64
				if _, err := fmt.Sscanf(line, "%s range=%q if-range=%q -> %d %d", &method, &rng, &ifRange, &status, &n); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				served += n
				switch {
				case method != http.MethodGet:
					t.Errorf("request %d is a %s: %q", i, method, log)
				case i == 0 && rng != fmt.Sprintf("bytes=0-%d", netfox.DefaultMinSplit-1):
					t.Errorf("first request asks for %q, want the first piece", rng)
				case i > 0 && strings.HasPrefix(rng, "bytes=0-"):
					t.Errorf("request %d asks for byte 0 again: %q", i, log)
				}
			}
			if served != int64(len(content)) {
				t.Errorf("served %d bytes for a file of %d: %q", served, len(content), log)
			}
		})
	}
}
