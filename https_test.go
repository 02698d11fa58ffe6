package netfox_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/serve"
)

// TestLinkRefusedIsItsOwnError: a link that the server starts refusing
// with 403 after the probe ends the download with ErrLinkRefused, which
// still carries the status, and keeps the partial download.
func TestLinkRefusedIsItsOwnError(t *testing.T) {
	dir := t.TempDir()
	content := randomBytes(4<<20, 91)
	if err := os.WriteFile(filepath.Join(dir, "f"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	files := serve.New(serve.Options{Dir: dir})
	var requests atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) > 2 { // the probe's HEAD and GET of one byte pass
			http.Error(w, "expired", http.StatusForbidden)
			return
		}
		files.ServeHTTP(w, r)
	}))
	defer ts.Close()
	out := filepath.Join(t.TempDir(), "out")
	_, err := netfox.Download(context.Background(), netfox.Request{URL: ts.URL + "/f", Output: out, Connections: 4})
	var status *netfox.StatusError
	if !errors.Is(err, netfox.ErrLinkRefused) || !errors.As(err, &status) || status.Code != http.StatusForbidden {
		t.Fatalf("err = %v, want ErrLinkRefused with status 403", err)
	}
	for _, f := range []string{out + ".part", out + ".info"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s not kept: %v", f, err)
		}
	}
}
