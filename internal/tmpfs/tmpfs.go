// Package tmpfs mounts small tmpfs file systems for tests that need a full
// disk. Mounting needs root (or CAP_SYS_ADMIN); tests skip with a message
// where it is not allowed.
package tmpfs

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
)

// Mount mounts a tmpfs of size bytes in a new directory under t.TempDir()
// and unmounts it when the test ends. It skips the test when mounting is
// not allowed here.
func Mount(t testing.TB, size int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if out, err := exec.Command("mkdir", "-p", dir).CombinedOutput(); err != nil {
		t.Fatalf("mkdir: %v: %s", err, out)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root): %v: %s; skipping", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// Resize changes the size of the tmpfs mounted at dir.
func Resize(t testing.TB, dir string, size int64) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", fmt.Sprintf("remount,size=%d", size), dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s: %v: %s", dir, err, out)
	}
}
