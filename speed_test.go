package netfox_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/testserver"
)

// TestSlowConnectionsReplaced: two of four connections run at an eighth
// of the others' speed; the download must replace them and still be
// byte-identical.
func TestSlowConnectionsReplaced(t *testing.T) {
	content := randomBytes(8<<20, 70)
	srv := testserver.New(t, content, testserver.SlowFirst(2, 256<<10), testserver.RatePerResponse(2<<20))
	out := filepath.Join(t.TempDir(), "out")
	res, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 4})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	if res.Reconnects < 1 {
		t.Errorf("no slow connection replaced (log: %q)", srv.Log())
	}
	if res.Fetched > int64(len(content)) {
		t.Errorf("fetched %d bytes for %d: a replaced connection's bytes were fetched twice", res.Fetched, len(content))
	}
}
