package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/netfox/netfox/internal/daemon"
)

// tmuxSession runs shell in a detached tmux session of cols x rows and
// returns a function running tmux commands on it.
func tmuxSession(t *testing.T, shell string, cols, rows int) func(args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		daemon.Missing(t, "tmux not installed (apt-get install tmux)")
	}
	// The temp dir's parent is unique to this run (its base alone, "002",
	// is the same in every concurrent run of the suite on the machine).
	socket := "netfox-test-" + filepath.Base(filepath.Dir(t.TempDir()))
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", append([]string{"-L", socket}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	tmux("new-session", "-d", "-s", "t", "-x", strconv.Itoa(cols), "-y", strconv.Itoa(rows), shell)
	t.Cleanup(func() { exec.Command("tmux", "-L", socket, "kill-server").Run() })
	return tmux
}

// The default view: a status line (name, size, percent, speed, ETA,
// elapsed, connections, retries) and the segment map.
var (
	statusLine = regexp.MustCompile(`(?m)^f\.bin  \d+\.\d \S+ / 8\.0 MiB +\d+%  \d+\.\d \S+/s  ETA \S+  \d+s  \d conns?  \d+ retr(y|ies)\s*$`)
	mapLine    = regexp.MustCompile(`(?m)^\[[█▒░]+\]\s*$`)
)

// TestViewInTmux runs netfox in a real terminal (tmux) against a throttled
// server and reads the screen: the status line and the segment map while
// it runs; after the terminal shrinks, one status line and one map, cut
// to the new width, and nothing left of the wider frames; the summary
// line at the end.
func TestViewInTmux(t *testing.T) {
	srcDir := t.TempDir()
	data := content(8<<20, 40)
	os.WriteFile(filepath.Join(srcDir, "f.bin"), data, 0o644)
	url, _ := startServe(t, srcDir, 256<<10) // 4 connections: 8 s
	dir := t.TempDir()
	tmux := tmuxSession(t, "cd "+dir+" && "+binary+" get -n 4 "+url+"/f.bin; echo EXIT=$?; sleep 60", 120, 20)

	var during string
	poll(t, func() bool {
		during = tmux("capture-pane", "-p", "-t", "t")
		m := mapLine.FindString(during)
		return statusLine.MatchString(during) && strings.Contains(m, "█") && strings.Contains(m, "░")
	})
	t.Logf("screen while downloading:\n%s", strings.TrimRight(during, "\n"))
	if n := len(mapLine.FindAllString(during, -1)); n != 1 || utf8.RuneCountInString(strings.TrimSpace(mapLine.FindString(during))) != 100+2 {
		t.Errorf("%d map lines, or not 100 cells wide", n)
	}

	tmux("resize-window", "-t", "t", "-x", "50", "-y", "10")
	var narrow string
	poll(t, func() bool {
		narrow = tmux("capture-pane", "-p", "-t", "t")
		m := strings.TrimSpace(mapLine.FindString(narrow))
		return utf8.RuneCountInString(m) == 47+2 // 50 columns, less one, less the brackets
	})
	t.Logf("screen after a resize to 50x10:\n%s", strings.TrimRight(narrow, "\n"))
	// Every row is the new frame: no line of an old frame, wrapped or not.
	if strings.Count(narrow, "f.bin") != 1 || len(mapLine.FindAllString(narrow, -1)) != 1 || strings.Count(narrow, "[") != 1 {
		t.Errorf("stale frames after the resize")
	}

	var after string
	poll(t, func() bool {
		after = tmux("capture-pane", "-p", "-J", "-t", "t")
		return strings.Contains(after, "EXIT=")
	})
	t.Logf("screen at the end:\n%s", strings.TrimRight(after, "\n"))
	if !strings.Contains(after, "EXIT=0") || !regexp.MustCompile(`netfox: saved f\.bin \(8\.0 MiB\) in .*, .*/s, 4 connections`).MatchString(after) {
		t.Errorf("no summary line or a failure at the end")
	}
	sameFile(t, filepath.Join(dir, "f.bin"), data)
}

// TestBarsInTmux: --bars shows one bar per segment and a total with a
// speed while it runs, the summary line at the end.
func TestBarsInTmux(t *testing.T) {
	srcDir := t.TempDir()
	data := content(8<<20, 40)
	os.WriteFile(filepath.Join(srcDir, "f.bin"), data, 0o644)
	url, _ := startServe(t, srcDir, 512<<10) // 4 connections: 4 s
	dir := t.TempDir()
	tmux := tmuxSession(t, "cd "+dir+" && "+binary+" get --bars -n 4 "+url+"/f.bin; echo EXIT=$?; sleep 60", 120, 20)

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
	if !strings.Contains(after, "EXIT=0") || !regexp.MustCompile(`netfox: saved f\.bin \(8\.0 MiB\) in .*, .*/s, 4 connections`).MatchString(after) {
		t.Errorf("no summary line or a failure at the end:\n%s", after)
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

// TestBatchViewInTmux: a batch on a terminal shows one status line per
// file being downloaded, and its report at the end.
func TestBatchViewInTmux(t *testing.T) {
	srcDir := t.TempDir()
	for _, name := range []string{"a.bin", "b.bin"} {
		os.WriteFile(filepath.Join(srcDir, name), content(4<<20, 41), 0o644)
	}
	url, _ := startServe(t, srcDir, 256<<10) // 2 connections a file: 8 s
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "list"), []byte(url+"/a.bin\n"+url+"/b.bin\n"), 0o644)
	tmux := tmuxSession(t, "cd "+dir+" && "+binary+" get -n 2 -j 2 -i list; echo EXIT=$?; sleep 60", 120, 20)

	line := func(tag, name string) *regexp.Regexp {
		return regexp.MustCompile(`(?m)^\[` + tag + `\] ` + name + `  \d+\.\d \S+ / 4\.0 MiB +\d+%  \d+\.\d \S+/s  ETA \S+  \d+s  \d conns?\s*$`)
	}
	var during string
	poll(t, func() bool {
		during = tmux("capture-pane", "-p", "-t", "t")
		return line("1/2", `a\.bin`).MatchString(during) && line("2/2", `b\.bin`).MatchString(during)
	})
	t.Logf("screen while downloading:\n%s", strings.TrimRight(during, "\n"))
	var after string
	poll(t, func() bool {
		after = tmux("capture-pane", "-p", "-J", "-t", "t")
		return strings.Contains(after, "EXIT=")
	})
	t.Logf("screen at the end:\n%s", strings.TrimRight(after, "\n"))
	if !strings.Contains(after, "EXIT=0") || !strings.Contains(after, "netfox: 2 files: 2 saved, 0 failed\n") {
		t.Errorf("no report or a failure at the end")
	}
}
