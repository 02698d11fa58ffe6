package daemon

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/testserver"
)

// TestLiveLimits: max-download-limit changed by changeOption, and
// max-overall-download-limit changed by changeGlobalOption, reach a
// running download through its Transfer and the Client, without a
// restart. Each download starts capped at 64 KiB/s, at which its 4 MiB
// would take a minute; with the cap lifted it completes within
// waitEvent's 30 s, and it is started once.
func TestLiveLimits(t *testing.T) {
	content := randomBytes(4 << 20)
	srv := testserver.New(t, content)

	h := newHarness(t, Options{})
	var gid string
	h.mustCall(&gid, "aria2.addUri", []string{srv.FileURL}, map[string]string{"out": "d.bin", "max-download-limit": "64K"})
	h.waitWritten(gid)
	h.mustCall(nil, "aria2.changeOption", gid, map[string]string{"max-download-limit": "0"})
	var opts map[string]string
	h.mustCall(&opts, "aria2.getOption", gid)
	if opts["max-download-limit"] != "0" {
		t.Fatalf("getOption after changeOption: max-download-limit %q", opts["max-download-limit"])
	}
	h.waitEvent(EventComplete, gid)
	sameFile(t, filepath.Join(h.dir, "d.bin"), content)
	if n := h.seen[event{name: EventStart, gid: gid}]; n != 1 {
		t.Fatalf("started %d times, want once (no restart for max-download-limit)", n)
	}

	overall := newHarness(t, Options{Client: netfox.ClientOptions{LimitRate: 64 << 10}})
	overall.mustCall(&gid, "aria2.addUri", []string{srv.FileURL}, map[string]string{"out": "o.bin"})
	overall.waitWritten(gid)
	overall.mustCall(nil, "aria2.changeGlobalOption", map[string]string{"max-overall-download-limit": "0"})
	overall.waitEvent(EventComplete, gid)
	sameFile(t, filepath.Join(overall.dir, "o.bin"), content)
	if n := overall.seen[event{name: EventStart, gid: gid}]; n != 1 {
		t.Fatalf("started %d times, want once", n)
	}
}

// TestChangeOptionRestarts: an option other than max-download-limit
// restarts a running download, which resumes from its .info.
func TestChangeOptionRestarts(t *testing.T) {
	content := randomBytes(3 << 20)
	srv := testserver.New(t, content, testserver.RatePerResponse(256<<10))
	h := newHarness(t, Options{})
	var gid string
	h.mustCall(&gid, "aria2.addUri", []string{srv.FileURL}, map[string]string{"out": "c.bin"})
	h.waitWritten(gid)
	h.mustCall(nil, "aria2.changeOption", gid, map[string]string{"split": "3"})
	h.waitEvent(EventComplete, gid)
	sameFile(t, filepath.Join(h.dir, "c.bin"), content)
	if n := h.seen[event{name: EventStart, gid: gid}]; n != 2 {
		t.Fatalf("started %d times, want twice (a restart for split)", n)
	}
}

func TestNeedsRestart(t *testing.T) {
	cases := []struct {
		old, next downloadOptions
		want      bool
	}{
		{downloadOptions{}, downloadOptions{}, false},
		{downloadOptions{"max-download-limit": "1M"}, downloadOptions{"max-download-limit": "0"}, false},
		{downloadOptions{}, downloadOptions{"max-download-limit": "1M"}, false},
		{downloadOptions{"split": "2"}, downloadOptions{"split": "2", "max-download-limit": "1M"}, false},
		{downloadOptions{"split": "2"}, downloadOptions{"split": "3"}, true},
		{downloadOptions{}, downloadOptions{"all-proxy": "http://p:3128"}, true},
		{downloadOptions{"header": "A: 1"}, downloadOptions{}, true},
	}
	for _, c := range cases {
		if got := needsRestart(c.old, c.next); got != c.want {
			t.Errorf("needsRestart(%v, %v) = %v, want %v", c.old, c.next, got, c.want)
		}
	}
}

// TestRequestOptions: header, http-user/http-passwd and checksum reach
// the request: a server that asks for a header and basic auth serves the
// file; a wrong password is aria2's code 24, a wrong checksum 32.
func TestRequestOptions(t *testing.T) {
	content := randomBytes(1<<20 + 3)
	files := testserver.New(t, content)
	guarded := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "u" || pass != "p" {
			w.Header().Set("WWW-Authenticate", `Basic realm="t"`)
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		if r.Header.Get("X-Token") != "t1" || r.Header.Get("X-Other") != "2" {
			http.Error(w, "no token", http.StatusForbidden)
			return
		}
		files.ServeHTTP(w, r)
	}))
	defer guarded.Close()
	sum := sha256.Sum256(content)
	h := newHarness(t, Options{})

	var good, badAuth, badSum string
	h.mustCall(&good, "aria2.addUri", []string{guarded.URL + "/file.bin"}, map[string]any{
		"out": "h.bin", "header": []string{"X-Token: t1", "X-Other: 2"}, "http-user": "u", "http-passwd": "p",
		"checksum": "sha-256=" + hex.EncodeToString(sum[:]),
	})
	h.mustCall(&badAuth, "aria2.addUri", []string{guarded.URL + "/file.bin"}, map[string]any{
		"out": "a.bin", "header": "X-Token: t1", "http-user": "u", "http-passwd": "wrong",
	})
	h.mustCall(&badSum, "aria2.addUri", []string{files.FileURL}, map[string]any{
		"out": "s.bin", "checksum": "sha-256=" + strings.Repeat("0", 64),
	})
	h.waitEvent(EventComplete, good)
	sameFile(t, filepath.Join(h.dir, "h.bin"), content)
	h.waitEvent(EventError, badAuth)
	if st := h.status(badAuth, "errorCode"); st["errorCode"] != "24" {
		t.Errorf("wrong password: errorCode %v, want 24", st["errorCode"])
	}
	h.waitEvent(EventError, badSum)
	if st := h.status(badSum, "errorCode"); st["errorCode"] != "32" {
		t.Errorf("wrong checksum: errorCode %v, want 32", st["errorCode"])
	}
}

// TestAllProxy: a download with all-proxy goes through that proxy (its
// credentials from all-proxy-user/passwd), one without it does not, and a
// proxy that refuses the credentials is aria2's code 24.
func TestAllProxy(t *testing.T) {
	content := randomBytes(2<<20 + 9)
	srv := testserver.New(t, content)
	var proxied atomic.Int64
	forward := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.Out.URL = pr.In.URL
		pr.Out.Host = pr.In.URL.Host
	}}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		if r.Header.Get("Proxy-Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte("pu:pp")) {
			w.Header().Set("Proxy-Authenticate", `Basic realm="proxy"`)
			http.Error(w, "proxy auth", http.StatusProxyAuthRequired)
			return
		}
		proxied.Add(1)
		forward.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	h := newHarness(t, Options{})

	var via, direct, refused string
	h.mustCall(&via, "aria2.addUri", []string{srv.FileURL}, map[string]string{
		"out": "via.bin", "all-proxy": strings.TrimPrefix(proxy.URL, "http://"), "all-proxy-user": "pu", "all-proxy-passwd": "pp",
	})
	h.waitEvent(EventComplete, via)
	sameFile(t, filepath.Join(h.dir, "via.bin"), content)
	through := proxied.Load()
	if through == 0 {
		t.Fatal("the download with all-proxy did not go through the proxy")
	}
	h.mustCall(&direct, "aria2.addUri", []string{srv.FileURL}, map[string]string{"out": "direct.bin"})
	h.waitEvent(EventComplete, direct)
	sameFile(t, filepath.Join(h.dir, "direct.bin"), content)
	if proxied.Load() != through {
		t.Fatalf("the download without all-proxy went through the proxy (%d requests, %d before)", proxied.Load(), through)
	}
	h.mustCall(&refused, "aria2.addUri", []string{srv.FileURL}, map[string]string{
		"out": "refused.bin", "all-proxy": proxy.URL, "all-proxy-user": "pu", "all-proxy-passwd": "wrong",
	})
	h.waitEvent(EventError, refused)
	if st := h.status(refused, "errorCode"); st["errorCode"] != "24" {
		t.Errorf("proxy refusing the credentials: errorCode %v, want 24", st["errorCode"])
	}
	var opts map[string]string
	h.mustCall(&opts, "aria2.getOption", via)
	if opts["all-proxy"] == "" {
		t.Errorf("getOption has no all-proxy: %v", opts)
	}
}

func TestChangeURIsRule(t *testing.T) {
	a, b, c := "http://a/f", "http://b/f", "ftp://c/f"
	cases := []struct {
		uris, del, add   []string
		pos              int
		want             []string
		deleted, wantAdd int
	}{
		{[]string{a}, nil, []string{b}, -1, []string{a, b}, 0, 1},
		{[]string{a, b}, []string{a}, nil, -1, []string{b}, 1, 0},
		{[]string{a, a, b}, []string{a}, nil, -1, []string{a, b}, 1, 0},
		{[]string{a, b}, []string{"http://x/f"}, nil, -1, []string{a, b}, 0, 0},
		{[]string{a, b}, nil, []string{c}, 0, []string{c, a, b}, 0, 1},
		{[]string{a, b}, nil, []string{c}, 1, []string{a, c, b}, 0, 1},
		{[]string{a}, nil, []string{c}, 9, []string{a, c}, 0, 1},
		{[]string{a}, []string{a}, []string{b, "not a uri", "file:///etc/passwd"}, -1, []string{b}, 1, 1},
	}
	for _, tc := range cases {
		got, deleted, added := changeURIs(tc.uris, tc.del, tc.add, tc.pos)
		if !slices.Equal(got, tc.want) || deleted != tc.deleted || added != tc.wantAdd {
			t.Errorf("changeURIs(%v, del %v, add %v, %d) = %v, %d, %d; want %v, %d, %d", tc.uris, tc.del, tc.add, tc.pos, got, deleted, added, tc.want, tc.deleted, tc.wantAdd)
		}
	}
}

// TestChangeURI: changeUri on a running download swaps its source for a
// mirror: it answers [1, 1], restarts, resumes from its .info and
// completes from the mirror, byte-identical.
func TestChangeURI(t *testing.T) {
	content := randomBytes(3<<20 + 1)
	orig := testserver.New(t, content, testserver.RatePerResponse(256<<10))
	mirror := testserver.New(t, content)
	h := newHarness(t, Options{})
	var gid string
	h.mustCall(&gid, "aria2.addUri", []string{orig.FileURL}, map[string]string{"out": "m.bin"})
	h.waitWritten(gid)
	var counts []int
	h.mustCall(&counts, "aria2.changeUri", gid, 1, []string{orig.FileURL}, []string{mirror.FileURL})
	if !slices.Equal(counts, []int{1, 1}) {
		t.Fatalf("changeUri answered %v, want [1 1]", counts)
	}
	h.waitEvent(EventComplete, gid)
	sameFile(t, filepath.Join(h.dir, "m.bin"), content)
	var uris []map[string]string
	h.mustCall(&uris, "aria2.getUris", gid)
	if len(uris) != 1 || uris[0]["uri"] != mirror.FileURL {
		t.Fatalf("getUris %v, want the mirror only", uris)
	}
	if mirror.BytesSent() == 0 {
		t.Fatal("the mirror served nothing")
	}
	if e := h.call(nil, "aria2.changeUri", gid, 2, []string{}, []string{orig.FileURL}); e == nil {
		t.Fatal("changeUri with file index 2 succeeded")
	}
}
