//go:build !windows

package fileaccess

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/netfox/netfox/internal/testdir"
)

// The fallback of RenameNoReplace, for file systems without renameat2's
// flag: a link and an unlink.
func TestLinkRename(t *testing.T) {
	dir := testdir.New(t)
	from, to := filepath.Join(dir, "a.part"), filepath.Join(dir, "a")
	os.WriteFile(to, []byte("theirs"), 0o644)
	os.WriteFile(from, []byte("newer"), 0o644)
	if err := linkRename(from, to); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("linkRename over a file: got %v, want fs.ErrExist", err)
	}
	os.Remove(to)
	if err := linkRename(from, to); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(to); string(got) != "newer" {
		t.Errorf("linkRename: %q", got)
	}
}
