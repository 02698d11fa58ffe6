package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/testserver"
)

// TestJSONStartAlwaysFirst: a 1-byte file, over before the first tick,
// still gets start then done.
func TestJSONStartAlwaysFirst(t *testing.T) {
	t.Parallel()
	srv := testserver.New(t, []byte("x"))
	cmd := exec.Command(binary, "get", "--json", srv.FileURL)
	cmd.Dir = t.TempDir()
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	events := parseEvents(t, out)
	if len(events) != 2 || events[0]["event"] != "start" || events[1]["event"] != "done" || events[0]["length"] != float64(1) {
		t.Errorf("events %v", events)
	}
}

// TestInterruptedEvents: SIGINT and SIGTERM under --json end in an
// interrupted event with the interrupted exit code, resumable on a
// server with ranges; on a server without ranges the message says the
// next run starts over, not that progress is saved.
func TestInterruptedEvents(t *testing.T) {
	t.Parallel()
	data := content(4<<20, 70)
	ranged := testserver.New(t, data, testserver.RatePerResponse(256<<10))
	plain := testserver.New(t, data, testserver.RatePerResponse(256<<10), testserver.IgnoreRanges(), testserver.NoAcceptRanges())
	for _, tc := range []struct {
		name      string
		url       string
		sig       syscall.Signal
		resumable bool
	}{
		{"SIGINT", ranged.FileURL, syscall.SIGINT, true},
		{"SIGTERM", ranged.FileURL, syscall.SIGTERM, true},
		{"SIGINT without ranges", plain.FileURL, syscall.SIGINT, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			started := time.Now()
			cmd := exec.Command(binary, "get", "--json", "-n", "2", tc.url)
			cmd.Dir = dir
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitForFile(t, filepath.Join(dir, "file.bin.part"), started)
			cmd.Process.Signal(tc.sig)
			err := cmd.Wait()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitInterrupted {
				t.Fatalf("exit %v, want %d", err, exitInterrupted)
			}
			events := parseEvents(t, stdout.Bytes())
			last := events[len(events)-1]
			if events[0]["event"] != "start" || last["event"] != "interrupted" || last["exit_code"] != float64(exitInterrupted) || last["resumable"] != tc.resumable {
				t.Errorf("first %v, last %v", events[0], last)
			}
			if saysSaved := strings.Contains(stderr.String(), "progress is saved"); saysSaved != tc.resumable {
				t.Errorf("stderr %q", stderr.String())
			}
		})
	}
}

// TestNetworkLossHint: a download whose server goes away after it began
// exits 3 and says how to resume; one that never reached the server does
// not.
func TestNetworkLossHint(t *testing.T) {
	t.Parallel()
	data := content(4<<20, 71)
	srv := testserver.New(t, data, testserver.RatePerResponse(256<<10))
	dir := t.TempDir()
	started := time.Now()
	cmd := exec.Command(binary, "get", "-q", "-n", "2", "--max-tries", "1", "--retry-wait", "100ms", "--stall-time", "1s", srv.FileURL)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForFile(t, filepath.Join(dir, "file.bin.part"), started)
	srv.CloseClientConnections()
	srv.Close()
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitNetwork || !strings.HasSuffix(strings.TrimSpace(stderr.String()), "run the same command again to resume") {
		t.Errorf("exit %v: %s", err, stderr.String())
	}
	out, code := run(t, dir, "get", "-q", "http://127.0.0.1:1/x")
	if code != exitNetwork || strings.Contains(out, "resume") {
		t.Errorf("exit %d: %s", code, out)
	}
}
