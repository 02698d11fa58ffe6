//go:build linux

package fileaccess

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestOpenOwned: what OpenOwned and Open accept, one row per rule of
// "adopt only what netfox made"; a FIFO is refused without blocking.
func TestOpenOwned(t *testing.T) {
	root := os.Geteuid() == 0
	tests := []struct {
		name     string
		make     func(t *testing.T, path string)
		rootOnly bool
		own      error // OpenOwned(UseOwn)
		private  error // OpenOwned(UsePrivate), and Open
	}{
		{"our file", func(t *testing.T, p string) { write(t, p, 0o644) }, false, nil, nil},
		{"group-writable", func(t *testing.T, p string) { write(t, p, 0o664) }, false, nil, ErrForeign},
		{"world-writable", func(t *testing.T, p string) { write(t, p, 0o666) }, false, nil, ErrForeign},
		{"second hard link", func(t *testing.T, p string) {
			write(t, p, 0o644)
			if err := os.Link(p, p+".link"); err != nil {
				t.Fatal(err)
			}
		}, false, ErrForeign, ErrForeign},
		{"another user's", func(t *testing.T, p string) {
			write(t, p, 0o644)
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, true, ErrForeign, ErrForeign},
		{"FIFO", func(t *testing.T, p string) {
			if err := unix.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, false, ErrNotRegular, ErrNotRegular},
		{"symbolic link", func(t *testing.T, p string) {
			write(t, p+".target", 0o644)
			if err := os.Symlink(p+".target", p); err != nil {
				t.Fatal(err)
			}
		}, false, ErrNotRegular, ErrNotRegular},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.rootOnly && !root {
				t.Skip("chown to another user needs root")
			}
			path := filepath.Join(t.TempDir(), "f")
			tt.make(t, path)
			done := make(chan struct{})
			go func() {
				defer close(done)
				for _, c := range []struct {
					use  Use
					want error
				}{{UseOwn, tt.own}, {UsePrivate, tt.private}} {
					f, err := OpenOwned(path, c.use)
					if f != nil {
						f.Close()
					}
					if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
						t.Errorf("OpenOwned(%d): %v, want %v", c.use, err, c.want)
					}
				}
				w, err := Open(path)
				if w != nil {
					w.Close()
				}
				if !errors.Is(err, tt.private) || (tt.private == nil) != (err == nil) {
					t.Errorf("Open: %v, want %v", err, tt.private)
				}
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("blocked")
			}
		})
	}
}

func write(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte("data"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// TestReserveAsWritten: nothing is reserved before data arrives; a
// chunk is reserved when its first byte does, within the length; the
// size is what was written.
func TestReserveAsWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.part")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const length = 3*ReserveChunk + 100
	if err := f.Room(length); err != nil {
		t.Fatal(err)
	}
	f.ReserveAsWritten(length)
	if got := allocated(t, path); got != 0 {
		t.Fatalf("%d bytes allocated before any write", got)
	}
	if _, err := f.WriteAt([]byte("x"), 3*ReserveChunk+10); err != nil {
		t.Fatal(err)
	}
	got := allocated(t, path)
	if size, _ := f.Size(); size != 3*ReserveChunk+11 {
		t.Errorf("size %d, want %d", size, 3*ReserveChunk+11)
	}
	// The last chunk is 100 bytes long: at most a few blocks, whatever
	// the file system reserves (tmpfs and ext4 do; others may not).
	if got > 64<<10 {
		t.Errorf("%d bytes allocated for a write in the 100-byte last chunk", got)
	}
	if _, err := f.WriteAt([]byte("y"), 10); err != nil {
		t.Fatal(err)
	}
	if got := allocated(t, path); got > ReserveChunk+64<<10 {
		t.Errorf("%d bytes allocated, want at most the first chunk and the last", got)
	}
}

func allocated(t *testing.T, path string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

// TestRoom: a length beyond MaxLength or the file system's limit is
// ErrFileTooLarge; more than the free space is ENOSPC; nothing is left
// allocated or extended by the check.
func TestRoom(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.part")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Room(MaxLength + 1); !errors.Is(err, ErrFileTooLarge) {
		t.Errorf("MaxLength+1: %v", err)
	}
	err = f.Room(MaxLength)
	if !errors.Is(err, ErrFileTooLarge) && !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("MaxLength: %v, want ErrFileTooLarge or ENOSPC", err)
	}
	if size, _ := f.Size(); size != 0 || allocated(t, path) != 0 {
		t.Errorf("the check left size %d, %d bytes allocated", size, allocated(t, path))
	}
}
