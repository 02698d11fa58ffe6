package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	idaemon "github.com/netfox/netfox/internal/daemon"
)

// daemonProc is a netfox daemon started by a test.
type daemonProc struct {
	cmd    *exec.Cmd
	url    string // http://127.0.0.1:PORT/jsonrpc
	mu     sync.Mutex
	stderr bytes.Buffer
	exited chan struct{}
}

var listeningLine = regexp.MustCompile(`daemon listening on (http://\S+/jsonrpc)`)

// startDaemon runs netfox daemon with args on a free port and returns once
// it listens.
func startDaemon(t *testing.T, args ...string) *daemonProc {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"daemon", "--rpc-listen-port", "0"}, args...)...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemonProc{cmd: cmd, exited: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			d.mu.Lock()
			d.stderr.WriteString(line + "\n")
			d.mu.Unlock()
			if m := listeningLine.FindStringSubmatch(line); m != nil {
				found <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
	}()
	go func() {
		_ = cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-d.exited
	})
	select {
	case d.url = <-found:
	case <-d.exited:
		t.Fatalf("daemon exited before listening: %s", d.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon not listening after 30s: %s", d.log())
	}
	return d
}

func (d *daemonProc) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.String()
}

// call sends one aria2 call and decodes its result into out; it returns
// the error message of an error answer.
func (d *daemonProc) call(t *testing.T, out any, method string, params ...any) string {
	t.Helper()
	if params == nil {
		params = []any{}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": "1", "method": method, "params": params})
	resp, err := http.Post(d.url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	var a struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	if a.Error != nil {
		return a.Error.Message
	}
	if out != nil {
		if err := json.Unmarshal(a.Result, out); err != nil {
			t.Fatalf("%s: %s: %v", method, a.Result, err)
		}
	}
	return ""
}

// waitStatus polls tellStatus until cond holds, failing after a minute.
func (d *daemonProc) waitStatus(t *testing.T, gid string, cond func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var st map[string]any
		if msg := d.call(t, &st, "aria2.tellStatus", gid); msg == "" && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("gid %s: last status %v; log:\n%s", gid, st, d.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDaemonKillNine adds a download from a rate-capped server, kills the
// daemon with SIGKILL in the middle of it, starts it again on the same
// database, and checks that the same gid resumes from its .info and
// completes byte-identical.
func TestDaemonKillNine(t *testing.T) {
	t.Parallel()
	srcDir := t.TempDir()
	data := content(6<<20, 30)
	if err := os.WriteFile(filepath.Join(srcDir, "f.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	url, _ := startServe(t, srcDir, 512<<10)
	dir := t.TempDir()
	state := filepath.Join(t.TempDir(), "queue.db")
	args := []string{"--dir", dir, "--state", state, "-n", "4"}

	d := startDaemon(t, args...)
	var gid string
	if msg := d.call(t, &gid, "aria2.addUri", []string{url + "/f.bin"}, map[string]string{"out": "f.bin"}); msg != "" {
		t.Fatal(msg)
	}
	// Killed once half the file is written.
	lengthOf := func(st map[string]any) int {
		var n int
		fmt.Sscan(fmt.Sprint(st["completedLength"]), &n)
		return n
	}
	atKill := lengthOf(d.waitStatus(t, gid, func(st map[string]any) bool {
		return st["status"] == "active" && lengthOf(st) >= len(data)/2
	}))
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.exited
	if _, err := os.Stat(filepath.Join(dir, "f.bin.info")); err != nil {
		t.Fatalf("no .info after the kill: %v", err)
	}

	// The same gid resumes: its first progress after the restart is what
	// the .info kept (all but the last checkpoint interval's bytes), not
	// a fresh start's few, which at this rate could not reach it sooner
	// than in a second.
	d2 := startDaemon(t, args...)
	resumed := lengthOf(d2.waitStatus(t, gid, func(st map[string]any) bool { return lengthOf(st) > 0 }))
	if resumed < atKill-(1<<20) {
		t.Fatalf("after the restart the download stood at %d bytes, at %d before the kill: not resumed; log:\n%s", resumed, atKill, d2.log())
	}
	st := d2.waitStatus(t, gid, func(st map[string]any) bool { return st["status"] == "complete" || st["status"] == "error" })
	if st["status"] != "complete" {
		t.Fatalf("after restart: %v", st)
	}
	got, err := os.ReadFile(filepath.Join(dir, "f.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("f.bin: %d bytes, not the served file", len(got))
	}
}

// TestDaemonListenAllNeedsSecret: listening beyond loopback without a
// secret is refused with the usage exit code, and the secret never shows
// in the log.
func TestDaemonListenAllNeedsSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stderr, code := run(t, dir, "daemon", "--rpc-listen-all", "--rpc-listen-port", "0", "--state", filepath.Join(dir, "q.db"))
	if code != exitUsage || !strings.Contains(stderr, "--rpc-secret") {
		t.Fatalf("exit %d, stderr %q; want %d naming --rpc-secret", code, stderr, exitUsage)
	}
	const secret = "s3cr3t-token-value"
	d := startDaemon(t, "--rpc-secret", secret, "--dir", dir, "--state", filepath.Join(dir, "q.db"))
	var version map[string]any
	if msg := d.call(t, &version, "aria2.getVersion"); msg != "Unauthorized" {
		t.Fatalf("call without the token: %q, want Unauthorized", msg)
	}
	if msg := d.call(t, &version, "aria2.getVersion", "token:"+secret); msg != "" {
		t.Fatal(msg)
	}
	if err := d.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	<-d.exited
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("SIGINT: exit %d, want 0; log:\n%s", code, d.log())
	}
	if strings.Contains(d.log(), secret) {
		t.Fatalf("the secret is in the log:\n%s", d.log())
	}
}

// TestDaemonNodeClient runs daemon/testdata/node under node's test runner:
// the npm aria2 client (4.1.2) drives this build of netfox daemon over
// HTTP and WebSocket (add, status while active, pause and resume, a 404's
// error code and notification, multicall, a wrong token, remove,
// changeOption and changeUri while running, global options, a kill -9 and
// restart mid-download). .ci/run installs node and
// runs npm ci there.
func TestDaemonNodeClient(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		idaemon.Missing(t, "node is not installed (apt-get install nodejs npm)")
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "daemon", "testdata", "node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "aria2")); err != nil {
		idaemon.Missing(t, "the npm aria2 client is not installed (cd daemon/testdata/node && npm ci)")
	}
	// A test that hangs fails after 2 minutes, and the runner's after
	// hook then stops the netfox processes it started.
	cmd := exec.Command(node, "--test", "--test-timeout=120000")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NETFOX_BIN="+binary)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("# fail 0")) || !bytes.Contains(out, []byte("# pass 9")) {
		t.Fatalf("node --test did not pass its 9 tests:\n%s", out)
	}
}
