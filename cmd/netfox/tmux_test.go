package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBarsInTmux runs netfox in a real terminal (tmux) against a throttled
// server and reads the screen: one bar per segment and a total with a
// speed while it runs, the summary line at the end.
func TestBarsInTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed (apt-get install tmux); skipping")
	}
	srcDir := t.TempDir()
	data := content(8<<20, 40)
	os.WriteFile(filepath.Join(srcDir, "f.bin"), data, 0o644)
	url, _ := startServe(t, srcDir, 512<<10) // 4 connections: 4 s
	dir := t.TempDir()

	// The temp dir's parent is unique to this run (its base alone, "002",
	// is the same in every concurrent run of the suite on the machine).
	socket := "netfox-test-" + filepath.Base(filepath.Dir(dir))
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", append([]string{"-L", socket}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	shell := "cd " + dir + " && " + binary + " get -n 4 " + url + "/f.bin; echo EXIT=$?; sleep 60"
	tmux("new-session", "-d", "-s", "t", "-x", "120", "-y", "20", shell)
	defer exec.Command("tmux", "-L", socket, "kill-server").Run()

	segBar := regexp.MustCompile(`(?m)^\s*seg \d+\s.*\[.*\].*/s`)
	totalBar := regexp.MustCompile(`(?m)^\s*total\s.*\[.*\]\s+\d+\.\d+ MiB/s`)
	var during string
	poll(t, func() bool {
		during = tmux("capture-pane", "-p", "-t", "t")
		return len(segBar.FindAllString(during, -1)) == 4 && totalBar.MatchString(during)
	})
	t.Logf("screen while downloading:\n%s", strings.TrimRight(during, "\n"))

	var after string
	poll(t, func() bool {
		after = tmux("capture-pane", "-p", "-t", "t")
		return strings.Contains(after, "EXIT=")
	})
	t.Logf("screen at the end:\n%s", strings.TrimRight(after, "\n"))
	if !strings.Contains(after, "EXIT=0") || !regexp.MustCompile(`netfox: saved f\.bin \(8\.0 MiB\) in .*, .*/s, 4 connections`).MatchString(after) {
		t.Errorf("no summary line or a failure at the end")
	}
	sameFile(t, filepath.Join(dir, "f.bin"), data)
}

// poll checks cond every 50ms for up to 20 s: a terminal screen offers
// nothing to wait on but its contents.
func poll(t *testing.T, cond func() bool) {
	t.Helper()
	for range 400 {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the screen never showed what was expected")
}
