//go:build unix

package state

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/netfox/netfox/fileaccess"
)

// TestLoadRefuses: a .info larger than MaxSize is refused by its size,
// a FIFO without blocking, a link without following it, and a long name
// saves through a short temporary file.
func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.info")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(magic + " 1\n")
	f.Truncate(MaxSize + 1)
	f.Close()
	if _, err := Load(big); !errors.Is(err, ErrCorrupt) {
		t.Errorf("oversized: %v, want ErrCorrupt", err)
	}
	fifo := filepath.Join(dir, "fifo.info")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(fifo); !errors.Is(err, fileaccess.ErrNotRegular) {
		t.Errorf("FIFO: %v, want ErrNotRegular", err)
	}
	long := filepath.Join(dir, repeat('n', 250)+".info")
	s := State{URL: "http://h/f", Length: 1, Segments: []Segment{{Start: 0, Next: 0, Synced: 0, End: 1}}}
	if err := Save(long, s, true); err != nil {
		t.Fatalf("a 255-byte name: %v", err)
	}
	if err := os.Symlink(long, filepath.Join(dir, "link.info")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(dir, "link.info")); !errors.Is(err, fileaccess.ErrNotRegular) {
		t.Errorf("link: %v, want ErrNotRegular", err)
	}
}

func repeat(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}
