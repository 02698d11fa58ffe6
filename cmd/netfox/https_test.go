package main

import (
	"bytes"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/nginxtest"
	"github.com/netfox/netfox/internal/wan"
	"github.com/netfox/netfox/serve"
)

// getJSON runs netfox get --json with args in dir and returns its events
// and exit code.
func getJSON(t *testing.T, dir string, args ...string) ([]map[string]any, int) {
	t.Helper()
	var stdout bytes.Buffer
	stderr, code := runWith(t, dir, &stdout, append([]string{"get", "--json"}, args...)...)
	if code != 0 {
		t.Logf("exit %d, stderr: %s", code, stderr)
	}
	return parseEvents(t, stdout.Bytes()), code
}

// lastEvent returns the last event of the kind, or fails the test.
func lastEvent(t *testing.T, events []map[string]any, kind string) map[string]any {
	t.Helper()
	for i := len(events) - 1; i >= 0; i-- {
		if events[i]["event"] == kind {
			return events[i]
		}
	}
	t.Fatalf("no %q event in %v", kind, events)
	return nil
}

// checkTLSLog checks nginx's TLS log for one download at n connections:
// every request over HTTP/1.1, at least n distinct TCP connections, as
// many as netfox reported, and all but the first TLS session resumed.
func checkTLSLog(t *testing.T, srv *nginxtest.Server, n int, reported float64) {
	t.Helper()
	reqs, err := srv.TLSRequests()
	if err != nil {
		t.Fatal(err)
	}
	conns := map[int64]bool{}
	resumed := map[int64]bool{}
	for _, r := range reqs {
		if r.Proto != "HTTP/1.1" {
			t.Errorf("request on connection %d over %s, want HTTP/1.1", r.Conn, r.Proto)
		}
		conns[r.Conn] = true
		if r.Resumed {
			resumed[r.Conn] = true
		}
	}
	if len(conns) < n {
		t.Errorf("%d TCP connections in nginx's log, want at least %d", len(conns), n)
	}
	if float64(len(conns)) != reported {
		t.Errorf("netfox reported %v connections, nginx saw %d", reported, len(conns))
	}
	if len(resumed) < len(conns)-1 {
		t.Errorf("%d of %d TLS sessions resumed, want all but the first", len(resumed), len(conns))
	}
}

// TestHTTPSNginxHTTP2: against nginx with "listen ... ssl http2", eight
// connections are eight TCP connections speaking HTTP/1.1, their TLS
// sessions resumed from the first, and the file is byte-identical.
func TestHTTPSNginxHTTP2(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	data := content(16<<20, 11)
	os.WriteFile(filepath.Join(root, "f.bin"), data, 0o644)
	// A per-connection cap keeps every worker on the wire at once.
	srv := nginxtest.Start(t, nginxtest.Options{Root: root, TLS: true, RatePerConn: 4 << 20})
	dir := t.TempDir()
	events, code := getJSON(t, dir, "-n", "8", "--ca-cert", srv.CAFile, srv.TLSURL+"/f.bin")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	sameFile(t, filepath.Join(dir, "f.bin"), data)
	checkTLSLog(t, srv, 8, lastEvent(t, events, "done")["connections"].(float64))
}

// TestHTTPSGoHTTP2: the same against Go's own server with HTTP/2 on.
func TestHTTPSGoHTTP2(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	data := content(8<<20, 12)
	os.WriteFile(filepath.Join(root, "f.bin"), data, 0o644)
	var (
		mu     sync.Mutex
		protos = map[string]int{}
		addrs  = map[string]bool{}
	)
	files := serve.New(serve.Options{Dir: root, RatePerConn: 2 << 20})
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		protos[r.Proto]++
		addrs[r.RemoteAddr] = true
		mu.Unlock()
		files.ServeHTTP(w, r)
	}))
	ts.EnableHTTP2 = true
	ln, err := files.Listen("127.0.0.1:0") // capped per TCP connection
	if err != nil {
		t.Fatal(err)
	}
	ts.Listener.Close()
	ts.Listener = ln
	ts.StartTLS()
	defer ts.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600)

	// The server does speak HTTP/2 to a client that asks for it.
	h2 := ts.Client()
	resp, err := h2.Get(ts.URL + "/f.bin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("the test server answered %s, not HTTP/2", resp.Proto)
	}
	mu.Lock()
	clear(protos)
	clear(addrs)
	mu.Unlock()

	dir := t.TempDir()
	events, code := getJSON(t, dir, "-n", "8", "--ca-cert", ca, ts.URL+"/f.bin")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	sameFile(t, filepath.Join(dir, "f.bin"), data)
	mu.Lock()
	defer mu.Unlock()
	if len(protos) != 1 || protos["HTTP/1.1"] == 0 {
		t.Errorf("protocols used: %v, want HTTP/1.1 only", protos)
	}
	if len(addrs) < 8 {
		t.Errorf("%d TCP connections, want at least 8", len(addrs))
	}
	if got := lastEvent(t, events, "done")["connections"].(float64); int(got) != len(addrs) {
		t.Errorf("netfox reported %v connections, the server saw %d", got, len(addrs))
	}
}

// TestHTTPSOverWAN: nginx with TLS and HTTP/2 behind a link that gives
// each TCP connection 40 ms of latency and 2 MiB/s, the shape of a real
// path to a CDN: 64 MiB at -n 8 arrives byte-identical over 8 connections.
func TestHTTPSOverWAN(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("64 MiB over a simulated WAN")
	}
	root := t.TempDir()
	data := content(64<<20, 13)
	os.WriteFile(filepath.Join(root, "f.bin"), data, 0o644)
	srv := nginxtest.Start(t, nginxtest.Options{Root: root, TLS: true})
	u, _ := url.Parse(srv.TLSURL)
	link := wan.Start(t, u.Host, wan.Link{Latency: 40 * time.Millisecond, Bandwidth: 2 << 20})
	dir := t.TempDir()
	events, code := getJSON(t, dir, "-n", "8", "--ca-cert", srv.CAFile, "https://"+link.Addr+"/f.bin")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	sameFile(t, filepath.Join(dir, "f.bin"), data)
	checkTLSLog(t, srv, 8, lastEvent(t, events, "done")["connections"].(float64))
}

// TestResumeFromNewURL: a download interrupted with Ctrl-C continues from
// another address of the same file (a refreshed signed link), fetching
// little again; an address of another file is still refused.
func TestResumeFromNewURL(t *testing.T) {
	t.Parallel()
	srcDir := t.TempDir()
	data := content(16<<20, 14)
	os.WriteFile(filepath.Join(srcDir, "f.bin"), data, 0o644)
	os.WriteFile(filepath.Join(srcDir, "other.bin"), content(16<<20, 15), 0o644)
	base, srv := startServe(t, srcDir, 1<<20)
	dir := t.TempDir()
	out := filepath.Join(dir, "f.bin")

	started := time.Now()
	cmd := exec.Command(binary, "get", "-q", "-n", "4", "-o", out, base+"/f.bin?expires=1&sig=aaa")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForFile(t, out+".info", started)
	waitForFile(t, out+".info", time.Now()) // some progress saved
	cmd.Process.Signal(syscall.SIGINT)
	var exitErr *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exitErr) || exitErr.ExitCode() != exitInterrupted {
		t.Fatalf("interrupted run: %v, want exit %d", err, exitInterrupted)
	}

	// Another file under the same output name: refused, nothing lost.
	infoBefore, _ := os.ReadFile(out + ".info")
	if _, code := run(t, dir, "get", "-q", "-o", out, base+"/other.bin"); code != exitBadState {
		t.Fatalf("another file: exit %d, want %d", code, exitBadState)
	}
	if infoAfter, _ := os.ReadFile(out + ".info"); !bytes.Equal(infoBefore, infoAfter) {
		t.Fatal("the refused run changed the .info")
	}

	sentBefore := srv.BytesSent()
	events, code := getJSON(t, dir, "-n", "4", "-o", out, base+"/f.bin?expires=2&sig=bbb")
	if code != 0 {
		t.Fatalf("resume from a new URL: exit %d", code)
	}
	sameFile(t, out, data)
	done := lastEvent(t, events, "done")
	resumed := int64(done["resumed"].(float64))
	if resumed == 0 {
		t.Fatal("nothing resumed")
	}
	// What the server sent for the resumed run beyond what was missing is
	// fetched again.
	again := srv.BytesSent() - sentBefore - (int64(len(data)) - resumed)
	t.Logf("resumed %d bytes from the new address, fetched %d bytes again", resumed, again)
	if again > 4<<20 {
		t.Errorf("%d bytes fetched again, want at most 4 MiB", again)
	}
}

// TestLinkRefusedMidDownload: a link that starts answering 403 after a
// few requests (an expired signed link) ends the download with the HTTP
// status code and keeps .part and .info; a fresh link then resumes it.
func TestLinkRefusedMidDownload(t *testing.T) {
	t.Parallel()
	srcDir := t.TempDir()
	data := content(8<<20, 16)
	os.WriteFile(filepath.Join(srcDir, "f.bin"), data, 0o644)
	files := serve.New(serve.Options{Dir: srcDir, RatePerConn: 2 << 20})
	var requests atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("sig") == "old" && requests.Add(1) > 3 {
			http.Error(w, "link expired", http.StatusForbidden)
			return
		}
		files.ServeHTTP(w, r)
	}))
	defer ts.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "f.bin")
	events, code := getJSON(t, dir, "-n", "4", "-o", out, ts.URL+"/f.bin?sig=old")
	if code != exitHTTPStatus {
		t.Fatalf("exit %d, want %d", code, exitHTTPStatus)
	}
	if lastEvent(t, events, "error")["exit_code"].(float64) != exitHTTPStatus {
		t.Error("the error event does not carry the exit code")
	}
	for _, f := range []string{out + ".part", out + ".info"} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%s not kept: %v", f, err)
		}
	}
	if _, code := getJSON(t, dir, "-n", "4", "-o", out, ts.URL+"/f.bin?sig=new"); code != 0 {
		t.Fatalf("fresh link: exit %d", code)
	}
	sameFile(t, out, data)
}
