//go:build linux

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/daemon"
	"github.com/netfox/netfox/internal/nginxtest"
)

// TestBatchAtScale: 1,000 small files from nginx at -j 8 under a lowered
// file-descriptor limit (256, macOS's default; the child's own, set by
// the shell that starts it). Every file must arrive byte-identical with
// exit 0, one request each in nginx's log, and the descriptors and memory
// sampled over the run must stay flat: nothing may grow with the count of
// files done.
func TestBatchAtScale(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("1,000-file batch in -short mode")
	}
	if nginxtest.Binary() == "" {
		daemon.Missing(t, "nginx not installed (apt-get install nginx-light)")
	}
	const files, size = 1000, 64 << 10
	root, dir := t.TempDir(), t.TempDir()
	contents := make([][]byte, files)
	for i := range contents {
		contents[i] = content(size, uint64(1000+i))
		if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("f%04d.bin", i)), contents[i], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := nginxtest.Start(t, nginxtest.Options{Root: root})
	var list strings.Builder
	for i := range files {
		fmt.Fprintf(&list, "%s/f%04d.bin out/f%04d.bin\n", srv.URL, i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "list.txt"), []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}

	// sh lowers both limits (Go raises a soft limit to the hard one at
	// start) and execs netfox in its place: the pid sampled is netfox's.
	cmd := exec.Command("sh", "-c", `ulimit -n 256 && exec "$0" "$@"`, binary, "get", "-q", "-i", "list.txt", "-j", "8")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var fds, rss []int64
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Minute)
	var err error
sampling:
	for {
		select {
		case err = <-exited:
			break sampling
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("batch still running after 5 minutes; stderr:\n%s", stderr.String())
		case <-tick.C:
			if n, ok := openFDs(cmd.Process.Pid); ok {
				fds = append(fds, n)
			}
			if n, ok := residentKiB(cmd.Process.Pid); ok {
				rss = append(rss, n)
			}
		}
	}
	if err != nil {
		t.Fatalf("batch: %v; stderr:\n%s", err, stderr.String())
	}
	for i, want := range contents {
		sameFile(t, filepath.Join(dir, "out", fmt.Sprintf("f%04d.bin", i)), want)
	}
	_, requests, lerr := srv.BodyBytesSent()
	if lerr != nil {
		t.Fatal(lerr)
	}
	t.Logf("%d requests for %d files; %d samples: descriptors %v, RSS KiB %v", requests, files, len(fds), summary(fds), summary(rss))
	// Two requests per file (HEAD, and a GET of the whole file that is
	// both the probe's answer and the file); a few retries at most.
	if requests > 2*files+files/100 {
		t.Errorf("%d requests for %d files, want about two each", requests, files)
	}
	// Descriptors: the per-host budget (16 sockets) and -j 8 files of two
	// descriptors each, plus the runtime's, whatever the number done.
	if len(fds) < 4 {
		t.Fatalf("only %d samples", len(fds))
	}
	if peak := maxOf(fds); peak > 80 {
		t.Errorf("peak %d open descriptors, want at most 80", peak)
	}
	// Flat: the second half of the run holds no more than the first.
	half := len(fds) / 2
	if a, b := maxOf(fds[:half]), maxOf(fds[half:]); b > a+8 {
		t.Errorf("descriptors grew over the run: peak %d in the first half, %d in the second", a, b)
	}
	if a, b := maxOf(rss[:len(rss)/2]), maxOf(rss[len(rss)/2:]); b > a+a/4 {
		t.Errorf("memory grew over the run: peak RSS %d KiB in the first half, %d KiB in the second", a, b)
	}
}

// openFDs counts the open descriptors of process pid.
func openFDs(pid int) (int64, bool) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return int64(len(entries)), err == nil
}

// residentKiB reads the resident set size of process pid.
func residentKiB(pid int) (int64, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

func maxOf(xs []int64) int64 {
	var m int64
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// summary is xs at ten even points of the run, for the log.
func summary(xs []int64) []int64 {
	if len(xs) <= 10 {
		return xs
	}
	out := make([]int64, 0, 10)
	for i := range 10 {
		out = append(out, xs[i*(len(xs)-1)/9])
	}
	return out
}
