package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/testserver"
)

// TestRerunAfterSuccess: the same command again exits 0 without
// fetching the body when the remote is the same version; after the
// remote changes it is refused as before (exit 9); without
// Last-Modified nothing proves the version, so it is refused too.
func TestRerunAfterSuccess(t *testing.T) {
	// Not parallel: it counts bytes served, and a probe slowed by parallel tests is hedged.
	data := content(300_000, 60)
	srv := testserver.New(t, data)
	dir := t.TempDir()
	if stderr, code := run(t, dir, "get", "-q", srv.FileURL); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	sent := srv.BytesSent()
	stderr, code := run(t, dir, "get", srv.FileURL)
	if code != 0 {
		t.Fatalf("re-run: exit %d: %s", code, stderr)
	}
	// The probe's GET of one byte, and nothing more.
	if got := srv.BytesSent() - sent; got > 1 {
		t.Errorf("re-run fetched %d bytes", got)
	}
	t.Logf("re-run: %s", stderr)
	sameFile(t, filepath.Join(dir, "file.bin"), data)

	// A checksum proves it too, whatever the dates.
	epoch := time.Unix(0, 0)
	os.Chtimes(filepath.Join(dir, "file.bin"), epoch, epoch)
	if stderr, code := run(t, dir, "get", "--checksum", "sha256="+sha256Hex(data), srv.FileURL); code != 0 {
		t.Errorf("re-run with checksum: exit %d: %s", code, stderr)
	}
	// Another version on the server: the file is left alone.
	srv.Change(content(300_000, 61))
	if stderr, code := run(t, dir, "get", srv.FileURL); code != exitExists {
		t.Errorf("after a change: exit %d, want %d: %s", code, exitExists, stderr)
	}
	sameFile(t, filepath.Join(dir, "file.bin"), data)

	bare := testserver.New(t, data, testserver.NoValidators())
	dir = t.TempDir()
	if stderr, code := run(t, dir, "get", "-q", bare.FileURL); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stderr, code := run(t, dir, "get", bare.FileURL); code != exitExists {
		t.Errorf("no validators: exit %d, want %d: %s", code, exitExists, stderr)
	}
}

// TestBatchRerun: running a finished batch again is a no-op with exit 0.
func TestBatchRerun(t *testing.T) {
	// Not parallel: it counts bytes served, and a probe slowed by parallel tests is hedged.
	a, b := content(100_000, 62), content(200_000, 63)
	srvA := testserver.New(t, a, testserver.Named("a.bin"))
	srvB := testserver.New(t, b, testserver.Named("b.bin"))
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "list.txt"), []byte(srvA.FileURL+"\n"+srvB.FileURL+"\n"), 0o644)
	if stderr, code := run(t, dir, "get", "-i", "list.txt", "-j", "2"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	sentA, sentB := srvA.BytesSent(), srvB.BytesSent()
	stderr, code := run(t, dir, "get", "-i", "list.txt", "-j", "2")
	if code != 0 {
		t.Fatalf("re-run: exit %d: %s", code, stderr)
	}
	if srvA.BytesSent()-sentA > 1 || srvB.BytesSent()-sentB > 1 { // each probe's byte
		t.Errorf("re-run fetched bytes")
	}
	sameFile(t, filepath.Join(dir, "a.bin"), a)
	sameFile(t, filepath.Join(dir, "b.bin"), b)
}
