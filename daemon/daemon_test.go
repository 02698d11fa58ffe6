package daemon

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/aria2rpc"
	"github.com/netfox/netfox/internal/testserver"
)

// harness is a Queue behind an aria2rpc server, with its events.
type harness struct {
	t      *testing.T
	q      *Queue
	url    string
	dir    string
	events chan event
	seen   map[event]int // how many times each event came
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	h := &harness{t: t, dir: opts.Dir, events: make(chan event, 1000), seen: make(map[event]int)}
	// The notifications go to the test and to the server's WebSocket
	// clients (set once the server exists).
	var rpc atomic.Pointer[aria2rpc.Server]
	opts.Notify = func(name, gid string) {
		h.events <- event{name: name, gid: gid}
		if s := rpc.Load(); s != nil {
			s.Notify(name, gid)
		}
	}
	opts.Connections = 2
	q, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.q = q
	server := aria2rpc.NewServer(aria2rpc.Options{Methods: q.Methods(nil), Secret: "tok"})
	rpc.Store(server)
	srv := httptest.NewServer(server)
	h.url = srv.URL + "/jsonrpc"
	t.Cleanup(func() {
		server.CloseAll()
		srv.Close()
		if err := q.Close(); err != nil {
			t.Error(err)
		}
	})
	return h
}

// call sends method with params (the token added) and decodes the result
// into out; it returns the error object, if any.
func (h *harness) call(out any, method string, params ...any) *aria2rpc.Error {
	h.t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": "t", "method": method, "params": append([]any{"token:tok"}, params...)})
	resp, err := http.Post(h.url, "application/json", bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Result json.RawMessage `json:"result"`
		Error  *aria2rpc.Error `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		h.t.Fatal(err)
	}
	if a.Error != nil {
		return a.Error
	}
	if out != nil {
		if err := json.Unmarshal(a.Result, out); err != nil {
			h.t.Fatalf("%s: result %s: %v", method, a.Result, err)
		}
	}
	return nil
}

func (h *harness) mustCall(out any, method string, params ...any) {
	h.t.Helper()
	if e := h.call(out, method, params...); e != nil {
		h.t.Fatalf("%s: %v", method, e)
	}
}

// waitEvent waits for the event name about gid, failing on a timeout.
func (h *harness) waitEvent(name, gid string) {
	h.t.Helper()
	timeout := time.After(30 * time.Second)
	for h.seen[event{name: name, gid: gid}] == 0 {
		select {
		case e := <-h.events:
			h.seen[e]++
		case <-timeout:
			h.t.Fatalf("no %s for %s", name, gid)
		}
	}
}

func (h *harness) status(gid string, keys ...string) map[string]any {
	h.t.Helper()
	var st map[string]any
	if len(keys) > 0 {
		h.mustCall(&st, "aria2.tellStatus", gid, keys)
	} else {
		h.mustCall(&st, "aria2.tellStatus", gid)
	}
	return st
}

// waitWritten polls until gid has written bytes, failing after 30s.
func (h *harness) waitWritten(gid string) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := h.status(gid, "completedLength")
		if st["completedLength"] != "0" {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: nothing written after 30s", gid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func sameFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(want) {
		t.Fatalf("%s: %d bytes, not the served file's %d", path, len(got), len(want))
	}
}

func TestAddCompleteAndErrors(t *testing.T) {
	content := randomBytes(3<<20 + 17)
	srv := testserver.New(t, content)
	missing := testserver.New(t, content, testserver.Status(404, 1000, ""))
	h := newHarness(t, Options{})

	var gid string
	h.mustCall(&gid, "aria2.addUri", []string{srv.FileURL}, map[string]string{"out": "a.bin"})
	if !validGID(gid) {
		t.Fatalf("gid %q is not 16 hex digits", gid)
	}
	h.waitEvent(EventComplete, gid)
	st := h.status(gid)
	if st["status"] != "complete" || st["errorCode"] != "0" || st["totalLength"] != fmt.Sprint(len(content)) || st["completedLength"] != fmt.Sprint(len(content)) {
		t.Fatalf("status %v", st)
	}
	if st["numPieces"] != "4" || st["bitfield"] != "f0" {
		t.Fatalf("pieces %v bitfield %v, want 4 and f0", st["numPieces"], st["bitfield"])
	}
	sameFile(t, filepath.Join(h.dir, "a.bin"), content)

	var bad string
	h.mustCall(&bad, "aria2.addUri", []string{missing.FileURL})
	h.waitEvent(EventError, bad)
	st = h.status(bad, "status", "errorCode")
	if len(st) != 2 || st["status"] != "error" || st["errorCode"] != "3" {
		t.Fatalf("404: status %v, want error with code 3", st)
	}

	// Every number is a string, as in aria2.
	var stat map[string]any
	h.mustCall(&stat, "aria2.getGlobalStat")
	for k, v := range stat {
		if _, ok := v.(string); !ok {
			t.Errorf("getGlobalStat %s = %v (%T), want a string", k, v, v)
		}
	}
	if stat["numStopped"] != "2" || stat["numActive"] != "0" {
		t.Fatalf("getGlobalStat %v", stat)
	}
	var stopped []map[string]any
	h.mustCall(&stopped, "aria2.tellStopped", 0, 10, []string{"gid"})
	if len(stopped) != 2 || stopped[0]["gid"] != gid || stopped[1]["gid"] != bad {
		t.Fatalf("tellStopped %v", stopped)
	}
	h.mustCall(nil, "aria2.removeDownloadResult", gid)
	if e := h.call(nil, "aria2.tellStatus", gid); e == nil || e.Code != 1 {
		t.Fatalf("tellStatus after removeDownloadResult: %v", e)
	}
	h.mustCall(nil, "aria2.purgeDownloadResult")
	h.mustCall(&stat, "aria2.getGlobalStat")
	if stat["numStopped"] != "0" {
		t.Fatalf("after purge: %v", stat)
	}
}

func TestPauseResumeRemove(t *testing.T) {
	content := randomBytes(2 << 20)
	srv := testserver.New(t, content, testserver.RatePerResponse(256<<10))
	h := newHarness(t, Options{})
	var gid string
	h.mustCall(&gid, "aria2.addUri", []string{srv.FileURL}, map[string]string{"out": "p.bin"})
	h.waitEvent(EventStart, gid)
	var active []map[string]any
	h.mustCall(&active, "aria2.tellActive", []string{"gid", "status"})
	if len(active) != 1 || active[0]["gid"] != gid || active[0]["status"] != "active" {
		t.Fatalf("tellActive %v", active)
	}
	// Once bytes are written the .info exists, and the pause keeps it.
	h.waitWritten(gid)
	h.mustCall(nil, "aria2.pause", gid)
	if st := h.status(gid, "status"); st["status"] != "paused" {
		t.Fatalf("after pause: %v", st)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "p.bin.info")); err != nil {
		t.Fatalf("paused download has no .info to resume from: %v", err)
	}
	h.mustCall(nil, "aria2.unpause", gid)
	h.waitEvent(EventComplete, gid)
	sameFile(t, filepath.Join(h.dir, "p.bin"), content)
	if e := h.call(nil, "aria2.pause", gid); e == nil {
		t.Fatal("pausing a complete download succeeded")
	}

	var second string
	h.mustCall(&second, "aria2.addUri", []string{srv.FileURL}, map[string]string{"out": "r.bin"})
	h.waitEvent(EventStart, second)
	h.mustCall(nil, "aria2.remove", second)
	h.waitEvent(EventStop, second)
	if st := h.status(second, "status", "errorCode"); st["status"] != "removed" || st["errorCode"] != "31" {
		t.Fatalf("after remove: %v", st)
	}
}

func TestQueueOrder(t *testing.T) {
	content := randomBytes(1 << 20)
	srv := testserver.New(t, content, testserver.RatePerResponse(128<<10))
	h := newHarness(t, Options{MaxConcurrent: 1})
	gids := make([]string, 4)
	for i := range gids {
		h.mustCall(&gids[i], "aria2.addUri", []string{srv.FileURL}, map[string]string{"out": fmt.Sprintf("q%d.bin", i)})
	}
	waitingGIDs := func(offset, num int) []string {
		var list []map[string]any
		h.mustCall(&list, "aria2.tellWaiting", offset, num, []string{"gid"})
		var out []string
		for _, s := range list {
			out = append(out, s["gid"].(string))
		}
		return out
	}
	if got := waitingGIDs(0, 10); fmt.Sprint(got) != fmt.Sprint(gids[1:]) {
		t.Fatalf("tellWaiting %v, want %v", got, gids[1:])
	}
	// A negative offset counts from the end and answers last first.
	if got := waitingGIDs(-1, 2); fmt.Sprint(got) != fmt.Sprint([]string{gids[3], gids[2]}) {
		t.Fatalf("tellWaiting(-1, 2) %v", got)
	}
	var pos int
	h.mustCall(&pos, "aria2.changePosition", gids[3], 0, "POS_SET")
	if pos != 0 {
		t.Fatalf("changePosition answered %d", pos)
	}
	h.mustCall(&pos, "aria2.changePosition", gids[1], -5, "POS_END")
	if got := waitingGIDs(0, 10); pos != 0 || fmt.Sprint(got) != fmt.Sprint([]string{gids[1], gids[3], gids[2]}) {
		t.Fatalf("after changePosition: %v (pos %d)", got, pos)
	}
	h.mustCall(nil, "aria2.changeGlobalOption", map[string]string{"max-concurrent-downloads": "4"})
	var opts map[string]string
	h.mustCall(&opts, "aria2.getGlobalOption")
	if opts["max-concurrent-downloads"] != "4" {
		t.Fatalf("getGlobalOption %v", opts)
	}
	for _, gid := range gids {
		h.waitEvent(EventComplete, gid)
	}
}

func TestOutsideDirRefused(t *testing.T) {
	srv := testserver.New(t, randomBytes(1000))
	h := newHarness(t, Options{})
	for _, opts := range []map[string]string{
		{"out": "../escape.bin"},
		{"out": "/etc/passwd"},
		{"dir": "/tmp"},
		{"dir": "sub/../../x"},
	} {
		if e := h.call(nil, "aria2.addUri", []string{srv.FileURL}, opts); e == nil || !strings.Contains(e.Message, "outside") {
			t.Errorf("addUri with %v: %v, want a refusal", opts, e)
		}
	}
	var gid string
	h.mustCall(&gid, "aria2.addUri", []string{srv.FileURL}, map[string]string{"dir": "sub", "out": "in.bin"})
	h.waitEvent(EventComplete, gid)
	if _, err := os.Stat(filepath.Join(h.dir, "sub", "in.bin")); err != nil {
		t.Fatal(err)
	}
}

func TestRestartKeepsQueue(t *testing.T) {
	content := randomBytes(2 << 20)
	srv := testserver.New(t, content, testserver.RatePerResponse(256<<10))
	dir := t.TempDir()
	state := filepath.Join(t.TempDir(), "queue.db")
	h := newHarness(t, Options{Config: Config{Dir: dir}, StatePath: state, MaxConcurrent: 1})
	var running, paused, waiting string
	h.mustCall(&running, "aria2.addUri", []string{srv.FileURL}, map[string]string{"out": "run.bin"})
	h.mustCall(&paused, "aria2.addUri", []string{srv.FileURL}, map[string]string{"out": "paused.bin", "pause": "true"})
	h.mustCall(&waiting, "aria2.addUri", []string{srv.FileURL}, map[string]string{"out": "wait.bin"})
	h.waitEvent(EventStart, running)
	if err := h.q.Close(); err != nil {
		t.Fatal(err)
	}

	h2 := newHarness(t, Options{Config: Config{Dir: dir}, StatePath: state, MaxConcurrent: 1})
	if st := h2.status(paused, "status"); st["status"] != "paused" {
		t.Fatalf("paused download after restart: %v", st)
	}
	h2.waitEvent(EventComplete, running)
	h2.waitEvent(EventComplete, waiting)
	sameFile(t, filepath.Join(dir, "run.bin"), content)
	sameFile(t, filepath.Join(dir, "wait.bin"), content)
	var stopped []map[string]any
	h2.mustCall(&stopped, "aria2.tellStopped", 0, 10, []string{"gid", "status"})
	if len(stopped) != 2 || stopped[0]["gid"] != running || stopped[1]["gid"] != waiting {
		t.Fatalf("tellStopped after restart %v", stopped)
	}
}

func TestPageRange(t *testing.T) {
	cases := []struct {
		offset, num, size int
		from, to          int
		reverse           bool
	}{
		{0, 10, 3, 0, 3, false},
		{1, 1, 3, 1, 2, false},
		{3, 1, 3, 0, 0, false},
		{-1, 1, 3, 2, 3, true},
		{-1, 2, 3, 1, 3, true},
		{-1, 10, 3, 0, 3, true},
		{-3, 2, 3, 0, 1, true},
		{-4, 2, 3, 0, 0, true},
		{0, 0, 3, 0, 0, false},
	}
	for _, c := range cases {
		from, to, rev := pageRange(c.offset, c.num, c.size)
		if from != c.from || to != c.to || rev != c.reverse {
			t.Errorf("pageRange(%d, %d, %d) = %d, %d, %v; want %d, %d, %v", c.offset, c.num, c.size, from, to, rev, c.from, c.to, c.reverse)
		}
	}
}

func TestNewPosition(t *testing.T) {
	cases := []struct {
		cur, size, pos int
		how            string
		want           int
	}{
		{2, 5, 0, PosSet, 0}, {2, 5, 9, PosSet, 4}, {2, 5, -1, PosSet, 0},
		{2, 5, 1, PosCur, 3}, {2, 5, -5, PosCur, 0}, {2, 5, 9, PosCur, 4},
		{2, 5, 0, PosEnd, 4}, {2, 5, -1, PosEnd, 3}, {2, 5, -9, PosEnd, 0},
	}
	for _, c := range cases {
		if got, err := newPosition(c.cur, c.size, c.pos, c.how); err != nil || got != c.want {
			t.Errorf("newPosition(%d, %d, %d, %s) = %d, %v; want %d", c.cur, c.size, c.pos, c.how, got, err, c.want)
		}
	}
	if _, err := newPosition(0, 1, 0, "POS_X"); !errors.Is(err, ErrOption) {
		t.Errorf("bad how: %v", err)
	}
}

func TestBitfield(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		length int64
		spans  []netfox.Span
		bits   string
		pieces int64
	}{
		{0, nil, "", 0},
		{mib, nil, "00", 1},
		{mib, []netfox.Span{{Start: 0, Next: mib, End: mib}}, "80", 1},
		{9 * mib, []netfox.Span{{Start: 0, Next: 9 * mib, End: 9 * mib}}, "ff80", 9},
		// Two spans, each half written: piece 0 whole, piece 2 across the boundary.
		{4 * mib, []netfox.Span{{Start: 0, Next: mib + 10, End: 2*mib + mib/2}, {Start: 2*mib + mib/2, Next: 4 * mib, End: 4 * mib}}, "90", 4},
		{mib + 1, []netfox.Span{{Start: 0, Next: mib + 1, End: mib + 1}}, "c0", 2},
	}
	for _, c := range cases {
		bits, pieces := bitfield(c.length, c.spans)
		if bits != c.bits || pieces != c.pieces {
			t.Errorf("bitfield(%d, %v) = %q, %d; want %q, %d", c.length, c.spans, bits, pieces, c.bits, c.pieces)
		}
	}
}

func TestErrorCode(t *testing.T) {
	cases := []struct {
		err  error
		code int
	}{
		{nil, 0},
		{&netfox.StatusError{Code: 404}, 3},
		{fmt.Errorf("x: %w", &netfox.StatusError{Code: 503}), 29},
		{&netfox.StatusError{Code: 401}, 24},
		{&netfox.StatusError{Code: 500}, 22},
		{fmt.Errorf("x: %w", netfox.ErrChecksum), 32},
		{netfox.ErrDiskFull, 9},
		{&netfox.NetError{Host: "h", Err: errors.New("reset")}, 6},
		{netfox.ErrStalled, 5},
		{fmt.Errorf("%w: out", ErrOption), 28},
		{errors.New("else"), 1},
	}
	for _, c := range cases {
		if got, _ := errorCode(c.err); got != c.code {
			t.Errorf("errorCode(%v) = %d, want %d", c.err, got, c.code)
		}
	}
}

func TestBuildRequest(t *testing.T) {
	cfg := Config{Dir: "/data", Connections: 8}
	req, err := buildRequest(cfg, []string{"http://a/f", "http://b/f"}, downloadOptions{
		"out": "x/y.bin", "split": "4", "max-connection-per-server": "1", "header": "A: 1\nB: 2",
		"checksum": "sha-256=" + strings.Repeat("ab", 32), "max-download-limit": "1M", "user-agent": "ua",
		"http-user": "u", "http-passwd": "p", "continue": "true",
	})
	if err != nil {
		t.Fatal(err)
	}
	if req.Output != "/data/x/y.bin" || req.Connections != 2 || req.Header.Get("B") != "2" || req.Checksum.Algo != "sha256" ||
		req.LimitRate != 1<<20 || req.UserAgent != "ua" || req.User != "u" || req.Password != "p" || !req.Continue || len(req.Mirrors) != 1 {
		t.Fatalf("request %+v", req)
	}
	for _, bad := range []downloadOptions{
		{"split": "0"}, {"split": "x"}, {"max-download-limit": "-1"}, {"checksum": "sha-256"}, {"header": "nocolon"},
		{"continue": "yes"}, {"out": "../../etc/x"}, {"dir": "/elsewhere"}, {"out": "."},
		{"all-proxy": "ftp://p:21"}, {"all-proxy": "http://p:3128/path"}, {"all-proxy": "http://"}, {"all-proxy": "::"},
	} {
		if _, err := buildRequest(cfg, []string{"http://a/f"}, bad); !errors.Is(err, ErrOption) {
			t.Errorf("options %v: %v, want ErrOption", bad, err)
		}
	}
	for in, want := range map[string]string{
		"p:3128": "http://p:3128", "http://p:3128/": "http://p:3128", "socks5://p:1080": "socks5://p:1080", "https://a:b@p:443": "https://a:b@p:443",
	} {
		u, err := proxyOption(downloadOptions{"all-proxy": in})
		if err != nil || u.String() != want {
			t.Errorf("all-proxy %q = %v, %v; want %s", in, u, err, want)
		}
	}
	if u, err := proxyOption(downloadOptions{"all-proxy": "a:b@p:1", "all-proxy-user": "c", "all-proxy-passwd": "d"}); err != nil || u.String() != "http://c:d@p:1" {
		t.Errorf("all-proxy-user over the URL's: %v, %v", u, err)
	}
	if _, err := buildRequest(Config{Dir: "/data", AllowOutside: true}, []string{"http://a/f"}, downloadOptions{"dir": "/elsewhere"}); err != nil {
		t.Errorf("AllowOutside: %v", err)
	}
}
