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
	"github.com/netfox/netfox/internal/units"
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
	// Not parallel: its summary must say 4 connections, and a connection starved by parallel tests is replaced.
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
	// Not parallel: its summary must say 4 connections, and a connection starved by parallel tests is replaced.
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
	t.Logf("screen at the end:\n%s", strings.TrimRight(after, "\n"))
	summary := regexp.MustCompile(`netfox: saved f\.bin \(8\.0 MiB\) in .*, (\d+\.\d \S+)/s, 4 connections`).FindStringSubmatch(after)
	if !strings.Contains(after, "EXIT=0") || summary == nil {
		t.Fatalf("no summary line or a failure at the end")
	}
	// The total's speed is the arrivals' (about the summary's while it
	// runs, burst and all), and at the end the summary's own figure.
	average := parseSize(t, summary[1])
	running := parseSize(t, regexp.MustCompile(`(?m)^\s*total\s.*\]\s+(\d+\.\d+ \S+)/s`).FindStringSubmatch(during)[1])
	if running < average/2 || running > average*2 {
		t.Errorf("total speed %.0f B/s while running, the run's average %.0f B/s", running, average)
	}
	final := regexp.MustCompile(`(?m)^\s*total\s.*\]\s+(\d+\.\d+ \S+)/s  in `).FindStringSubmatch(after)
	if final == nil {
		t.Fatalf("no total line at the end")
	}
	if got := parseSize(t, final[1]); got < average*0.97 || got > average*1.03 {
		t.Errorf("total speed at the end %.0f B/s, the summary's %.0f B/s", got, average)
	}
	sameFile(t, filepath.Join(dir, "f.bin"), data)
}

// parseSize reads a size as units.FormatSize writes it ("1.5 MiB").
func parseSize(t *testing.T, s string) float64 {
	t.Helper()
	n, err := units.ParseSize(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("size %q: %v", s, err)
	}
	return float64(n)
}

// TestBatchWaitingInTmux: a batch whose second file waits for the one
// connection the host allows shows it connecting or waiting, claiming no
// connection,
// under the batch's line (files, bytes, speed, ETA), the other with its
// one connection.
func TestBatchWaitingInTmux(t *testing.T) {
	t.Parallel()
	srcDir := t.TempDir()
	for _, name := range []string{"a.bin", "b.bin"} {
		os.WriteFile(filepath.Join(srcDir, name), content(1<<20, 42), 0o644)
	}
	url, _ := startServe(t, srcDir, 256<<10) // one connection at a time: 4 s a file
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "list"), []byte(url+"/a.bin\n"+url+"/b.bin\n"), 0o644)
	tmux := tmuxSession(t, "cd "+dir+" && "+binary+" get -n 2 -j 2 --max-connections-per-host 1 -i list; echo EXIT=$?; sleep 60", 100, 20)

	total := regexp.MustCompile(`(?m)^total  0/2 files  \d+(\.\d)? \S+ / \d+\.\d MiB\+?  \d+(\.\d)? \S+/s  ETA ~?\S+  \d+s\s*$`)
	// Whether the probe of the waiting file is the one waiting, or its
	// first range after the probe, depends on which file gets the
	// connection first.
	waiting := regexp.MustCompile(`(?m)^\[\d/2\] [ab]\.bin  (connecting|0 B / 1\.0 MiB  waiting for a connection)  \d+s\s*$`)
	working := regexp.MustCompile(`(?m)^\[\d/2\] [ab]\.bin  .*/s  ETA \S+  \d+s  1 conn\s*$`)
	var during string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last screen:\n%s", during)
		}
	})
	poll(t, func() bool {
		during = tmux("capture-pane", "-p", "-t", "t")
		return total.MatchString(during) && waiting.MatchString(during) && working.MatchString(during)
	})
	t.Logf("screen while downloading:\n%s", strings.TrimRight(during, "\n"))
	var after string
	poll(t, func() bool {
		after = tmux("capture-pane", "-p", "-J", "-t", "t")
		return strings.Contains(after, "EXIT=")
	})
	if !strings.Contains(after, "EXIT=0") || !regexp.MustCompile(`(?m)^total  2/2 files  2\.0 MiB / 2\.0 MiB  \d+\.\d \S+/s  \d+s\s*$`).MatchString(after) {
		t.Errorf("a failure, or no batch line at the end:\n%s", after)
	}
}

// TestViewNarrowInTmux: at 40 columns the status line keeps whole
// fields: every field it shows is complete, none cut mid-number.
func TestViewNarrowInTmux(t *testing.T) {
	t.Parallel()
	srcDir := t.TempDir()
	os.WriteFile(filepath.Join(srcDir, "f.bin"), content(4<<20, 43), 0o644)
	url, _ := startServe(t, srcDir, 256<<10)
	dir := t.TempDir()
	tmux := tmuxSession(t, "cd "+dir+" && "+binary+" get -n 4 "+url+"/f.bin; echo EXIT=$?; sleep 60", 40, 10)
	whole := regexp.MustCompile(`(?m)^f\.bin((  \d+\.\d \S+ / 4\.0 MiB)|(  +\d+%)|(  \d+(\.\d)? \S+/s)|(  ETA \S+)|(  \d+s)|(  \d conns?)|(  \d+ retr(y|ies)))+\s*$`)
	var during string
	poll(t, func() bool {
		during = tmux("capture-pane", "-p", "-t", "t")
		return whole.MatchString(during) && strings.Contains(during, "%  ")
	})
	t.Logf("screen at 40 columns:\n%s", strings.TrimRight(during, "\n"))
	if line := whole.FindString(during); utf8.RuneCountInString(strings.TrimRight(line, " ")) > 39 {
		t.Errorf("status line wider than 39 columns: %q", line)
	}
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
	t.Parallel()
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
