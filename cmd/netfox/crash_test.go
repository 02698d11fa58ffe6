package main

import (
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/ftptest"
)

// TestKillNineAndResume kills the downloader with SIGKILL 100 times, each
// at a random instant of its transfer, resumes each time with the same
// command, and checks that the result is byte-identical and that a kill
// costs at most 2 MiB fetched again (half a second of this transfer): the
// .info is saved every 100ms, only ever claims bytes already written, and
// always accounts for every byte, so no resume is refused or starts over.
func TestKillNineAndResume(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kill -9 cycle in -short mode")
	}
	const (
		rate      = 512 << 10 // per connection
		conns     = 8
		size      = 96 << 20
		kills     = 100
		perKill   = 2 << 20
		killAfter = 100 * time.Millisecond // at most, after the run's first save
	)
	srcDir := t.TempDir()
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{6}).Read(data)
	if err := os.WriteFile(filepath.Join(srcDir, "f.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	url, srv := startServe(t, srcDir, rate)
	dir := t.TempDir()
	args := []string{"get", "-q", "-n", "8", url + "/f.bin"}

	killed := 0
	began := time.Now()
	for range kills {
		started := time.Now()
		cmd := exec.Command(binary, args...)
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Once the run has saved its .info it is transferring; the kill
		// then lands at an arbitrary instant of that, which is the point.
		waitForFile(t, filepath.Join(dir, "f.bin.info"), started)
		time.Sleep(rand.N(killAfter))
		cmd.Process.Kill()
		err := cmd.Wait()
		var exitErr *exec.ExitError
		if err == nil {
			break // finished before the kill
		}
		if !errors.As(err, &exitErr) {
			t.Fatal(err)
		}
		killed++
	}
	if stderr, code := run(t, dir, args...); code != 0 {
		t.Fatalf("final resume: exit %d: %s", code, stderr)
	}
	sameFile(t, filepath.Join(dir, "f.bin"), data)

	refetched := srv.BytesSent() - size
	avg := float64(refetched) / float64(max(killed, 1))
	t.Logf("%d kills in %v: %d bytes fetched again in all, %.2f MiB per kill", killed, time.Since(began).Round(time.Millisecond), refetched, avg/(1<<20))
	if killed < kills {
		t.Errorf("only %d of %d kills landed before the download finished", killed, kills)
	}
	if avg > perKill {
		t.Errorf("%.2f MiB fetched again per kill, more than %d MiB", avg/(1<<20), perKill>>20)
	}
}

// TestKillNineFTP: the same kill -9 and resume cycle against a real
// vsftpd, where each range is a REST + RETR of its own.
func TestKillNineFTP(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kill -9 cycle in -short mode")
	}
	root := t.TempDir()
	data := content(8<<20, 11)
	if err := os.WriteFile(filepath.Join(root, "f.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := ftptest.Start(t, ftptest.Options{Root: root, RatePerConn: 512 << 10})
	dir := t.TempDir()
	args := []string{"get", "-q", "-n", "8", srv.URL + "/f.bin"}
	killed := 0
	for range 4 {
		cmd := exec.Command(binary, args...)
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(300+rand.IntN(300)) * time.Millisecond) // an arbitrary instant
		cmd.Process.Kill()
		if err := cmd.Wait(); err == nil {
			break
		}
		killed++
	}
	if stderr, code := run(t, dir, args...); code != 0 {
		t.Fatalf("final resume: exit %d: %s", code, stderr)
	}
	sameFile(t, filepath.Join(dir, "f.bin"), data)
	if killed < 2 {
		t.Errorf("only %d kills landed", killed)
	}
}
