package netfox_test

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/testserver"
	"github.com/netfox/netfox/internal/tmpfs"
	"github.com/netfox/netfox/state"
)

// TestDiskFull downloads a file larger than the disk: a clear ENOSPC
// error, a consistent .info, and a complete download once there is room.
func TestDiskFull(t *testing.T) {
	dir := tmpfs.Mount(t, 2<<20)
	content := randomBytes(4<<20, 60)
	srv := testserver.New(t, content)
	out := filepath.Join(dir, "out")

	_, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 4})
	if !errors.Is(err, netfox.ErrIO) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("got %v, want ErrIO wrapping ENOSPC", err)
	}
	saved, err := state.Load(out + ".info")
	if err != nil {
		t.Fatalf("the .info left behind is unusable: %v", err)
	}
	if n := saved.Written(state.BootID()); n != 0 {
		t.Errorf(".info claims %d bytes that could not have been written", n)
	}

	tmpfs.Resize(t, dir, 16<<20)
	if _, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 4}); err != nil {
		t.Fatalf("after freeing space: %v", err)
	}
	assertFile(t, out, content)
}
