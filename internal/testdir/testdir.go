// Package testdir gives a test a temporary directory that is removed when
// the test ends, as testing.T.TempDir does, on every system the tests run
// on, Wine included.
//
// Why not t.TempDir: since Go 1.23 os.RemoveAll on Windows deletes with
// FileDispositionInformationEx, which Wine 8 (the Windows lane's, see the
// README) does not implement; every test using t.TempDir then fails in
// its cleanup ("unlinkat ...: Invalid function") however it went. A gap in
// Wine, not in netfox: on Windows this package removes the tree with
// os.Remove (DeleteFile and RemoveDirectory), everywhere else it is
// t.TempDir.
package testdir

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// New returns a new empty directory for t, removed when t ends.
func New(t testing.TB) string {
	t.Helper()
	if runtime.GOOS != "windows" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("", "netfox-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := removeTree(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	return dir
}

// removeTree removes dir and everything in it, deepest first, each with
// os.Remove.
func removeTree(dir string) error {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		paths = append(paths, path)
		return err
	})
	if err != nil {
		return err
	}
	for _, p := range slices.Backward(paths) {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}
