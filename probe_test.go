package netfox_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netfox/netfox"
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
