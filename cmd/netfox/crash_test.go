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

// TestKillNineAndResume kills the downloader with SIGKILL at random
// instants, resumes each time with the same command, and checks that the
// result is byte-identical and that each kill cost at most about a
// quarter second of transfer: the .info is saved every 100ms and only
// ever claims bytes already written.
func TestKillNineAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 cycle in -short mode")
	}
	const (
		rate  = 2 << 20 // per connection
		conns = 8
		size  = 48 << 20
		kills = 10
	)
	srcDir := t.TempDir()
	data := content(size, 6)
	if err := os.WriteFile(filepath.Join(srcDir, "f.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	url, srv := startServe(t, srcDir, rate)
	dir := t.TempDir()
	args := []string{"get", "-q", "-n", "8", url + "/f.bin"}

	killed := 0
	for range kills {
		cmd := exec.Command(binary, args...)
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The point of the test is an arbitrary instant, not an event.
		time.Sleep(time.Duration(150+rand.IntN(200)) * time.Millisecond)
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
	perKill := float64(refetched) / float64(max(killed, 1))
	quarterSecond := 0.25 * conns * rate
	t.Logf("%d kills: %d bytes fetched again in all, %.2f MiB per kill (a quarter second is %.1f MiB)",
		killed, refetched, perKill/(1<<20), quarterSecond/(1<<20))
	if killed < kills/2 {
		t.Errorf("only %d kills landed before the download finished", killed)
	}
	if perKill > quarterSecond {
		t.Errorf("%.2f MiB fetched again per kill, more than a quarter second of transfer (%.1f MiB)", perKill/(1<<20), quarterSecond/(1<<20))
	}
}

// TestKillNineFTP: the same kill -9 and resume cycle against a real
// vsftpd, where each range is a REST + RETR of its own.
func TestKillNineFTP(t *testing.T) {
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
