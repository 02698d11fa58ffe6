package main

import (
	"bufio"
	"bytes"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/testserver"
)

// The cases of issue 14, each through the binary against real servers on
// loopback: what curl does is said in each test's comment.

// secret is the password, token or cookie value of these tests: it must
// reach only the origin it was given for, and never be printed.
const secret = "s3cret-9f2c"

// redirector answers every request with a 302 to target+path and records
// the requests it got.
type redirector struct {
	target string
	mu     sync.Mutex
	reqs   []*http.Request
}

func (rd *redirector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rd.mu.Lock()
	rd.reqs = append(rd.reqs, r.Clone(r.Context()))
	rd.mu.Unlock()
	http.Redirect(w, r, rd.target+r.URL.Path, http.StatusFound)
}

// carries reports whether r holds the secret anywhere in its headers or
// its address.
func carries(r *http.Request) bool {
	if strings.Contains(r.URL.String(), secret) {
		return true
	}
	for _, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, secret) {
				return true
			}
			if strings.HasPrefix(v, "Basic ") && basicHas(v) {
				return true
			}
		}
	}
	return false
}

func basicHas(header string) bool {
	r := &http.Request{Header: http.Header{"Authorization": {header}}}
	_, p, ok := r.BasicAuth()
	return ok && p == secret
}

func (rec *recorder) count(ok func(*http.Request) bool) (n, total int) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, r := range rec.reqs {
		if ok(r) {
			n++
		}
	}
	return n, len(rec.reqs)
}

// Case 1. curl sends --user, netrc logins, the URL's user:password and
// -H Authorization/Cookie only to the host, port and scheme they were
// given for (CVE-2018-1000007, CVE-2022-27774, CVE-2022-27776); a
// redirect elsewhere drops them unless --location-trusted. netfox decides
// the same for every request: the probe, each range, retries.
func TestCredentialsStayWithTheirOrigin(t *testing.T) {
	t.Parallel()
	data := content(300_000, 140)
	dir := t.TempDir()
	netrcFile := filepath.Join(dir, "netrc")
	os.WriteFile(netrcFile, []byte("machine 127.0.0.1 login alice password "+secret+"\n"), 0o600)
	cookies := filepath.Join(dir, "cookies.txt")
	os.WriteFile(cookies, []byte("127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\t"+secret+"\n"), 0o600)

	kinds := []struct {
		name string
		args func(u string) []string
	}{
		{"--user", func(u string) []string { return []string{"--user", "alice:" + secret, u} }},
		{"URL userinfo", func(u string) []string { return []string{strings.Replace(u, "http://", "http://alice:"+secret+"@", 1)} }},
		{"-H Authorization", func(u string) []string { return []string{"-H", "Authorization: Bearer " + secret, u} }},
		{"-H Cookie", func(u string) []string { return []string{"-H", "Cookie: sid=" + secret, u} }},
		{"netrc", func(u string) []string { return []string{"--netrc-file", netrcFile, u} }},
		{"--load-cookies", func(u string) []string { return []string{"--load-cookies", cookies, u} }},
	}
	// The target listens on 127.0.0.1; "localhost" names it as another host.
	moves := []struct {
		name string
		host func(port string) string
	}{
		{"another host", func(port string) string { return "http://localhost:" + port }},
		{"another port", func(port string) string { return "http://127.0.0.1:" + port }},
	}
	for _, mv := range moves {
		for _, kind := range kinds {
			for _, trusted := range []bool{false, true} {
				name := mv.name + "/" + kind.name
				if trusted {
					name += "/--location-trusted"
				}
				t.Run(name, func(t *testing.T) {
					rec := &recorder{data: data}
					target := httptest.NewServer(rec)
					defer target.Close()
					_, port, _ := net.SplitHostPort(target.Listener.Addr().String())
					rd := &redirector{target: mv.host(port)}
					origin := httptest.NewServer(rd)
					defer origin.Close()

					dir := t.TempDir()
					args := []string{"get", "-q", "-n", "4", "--min-split", "16KiB", "-o", "out"}
					if trusted {
						args = append(args, "--location-trusted")
					}
					args = append(args, kind.args(origin.URL+"/f.bin")...)
					if stderr, code := run(t, dir, args...); code != 0 {
						t.Fatalf("exit %d: %s", code, stderr)
					}
					sameFile(t, filepath.Join(dir, "out"), data)
					rd.mu.Lock()
					first := rd.reqs[0]
					rd.mu.Unlock()
					if !carries(first) {
						t.Fatalf("the origin itself did not get the credentials: %v", first.Header)
					}
					leaked, total := rec.count(carries)
					switch {
					case !trusted && leaked > 0:
						t.Errorf("%d of %d requests to %s carried the credentials given for %s", leaked, total, rd.target, origin.URL)
					case trusted && kind.name != "--load-cookies" && leaked != total:
						// Cookies of a cookie file follow their domain
						// (127.0.0.1) even when trusted, as in curl.
						t.Errorf("--location-trusted: only %d of %d requests carried the credentials", leaked, total)
					}
				})
			}
		}
	}
}

// tlsRedirector is an https server redirecting to target; it returns its
// URL and the --ca-cert file that trusts it.
func tlsRedirector(t *testing.T, target string) (string, string) {
	t.Helper()
	srv := httptest.NewTLSServer(&redirector{target: target})
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pemCert(srv), 0o644)
	return srv.URL, ca
}

// Case 2. curl -L follows https -> http unless --proto-redir forbids it,
// and sends no credentials across the change of scheme. netfox is
// stricter: it refuses by default (exit 12, nothing asked of the http
// server), and with --allow-insecure-redirect follows it but sends no
// credentials over http, even with --location-trusted.
func TestNoSilentDowngrade(t *testing.T) {
	t.Parallel()
	data := content(200_000, 141)
	rec := &recorder{data: data}
	plain := httptest.NewServer(rec)
	defer plain.Close()
	secure, ca := tlsRedirector(t, plain.URL)

	dir := t.TempDir()
	stderr, code := run(t, dir, "get", "-q", "--ca-cert", ca, "--user", "alice:"+secret, "-o", "out", secure+"/f.bin")
	if code != exitInsecure {
		t.Errorf("exit %d, want %d: %s", code, exitInsecure, stderr)
	}
	if !strings.Contains(stderr, "--allow-insecure-redirect") || strings.Contains(stderr, secret) {
		t.Errorf("message %q", stderr)
	}
	if _, total := rec.count(carries); total != 0 {
		t.Errorf("the http server got %d requests", total)
	}
	if _, err := os.Lstat(filepath.Join(dir, "out.part")); err == nil {
		t.Error("a refused download left a .part")
	}

	for _, extra := range [][]string{nil, {"--location-trusted"}} {
		dir := t.TempDir()
		args := append([]string{"get", "-q", "-n", "4", "--min-split", "16KiB", "--ca-cert", ca, "--allow-insecure-redirect",
			"--user", "alice:" + secret, "-H", "Cookie: sid=" + secret, "-o", "out"}, extra...)
		if stderr, code := run(t, dir, append(args, secure+"/f.bin")...); code != 0 {
			t.Fatalf("%v: exit %d: %s", extra, code, stderr)
		}
		sameFile(t, filepath.Join(dir, "out"), data)
		if leaked, total := rec.count(carries); leaked > 0 {
			t.Errorf("%v: %d of %d requests over http carried the credentials", extra, leaked, total)
		}
	}
}

// Case 3. curl's messages do not quote the URL, and wget prints a URL's
// password as "*password*". netfox shows user:***@ in
// errors, notices, JSON events, summaries and batch lines, and keeps no
// password in the .info.
func TestPasswordsNeverPrinted(t *testing.T) {
	t.Parallel()
	data := content(300_000, 142)
	other := content(100_001, 143)
	failing := atomic.Bool{}
	failing.Store(true)
	good := testserver.New(t, data)
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" && !probeRequest(r) && failing.Load() {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		good.ServeHTTP(w, r)
	}))
	defer flaky.Close()
	otherSrv := testserver.New(t, other)
	good2 := testserver.New(t, data)
	withPw := func(u string) string { return strings.Replace(u, "http://", "http://bob:"+secret+"@", 1) }
	dead := "http://bob:" + secret + "@127.0.0.1:1/file.bin"

	dir := t.TempDir()
	var printed bytes.Buffer
	check := func(what string, out []byte) {
		t.Helper()
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("%s shows the password: %q", what, out)
		}
		printed.Write(out)
	}
	// An error mid-way: the .info stays, with the addresses but no password.
	stderr, code := run(t, dir, "get", "-n", "2", "--max-tries", "1", "--retry-wait", "10ms", "-o", "out", withPw(flaky.URL+"/file.bin"), dead)
	if code == 0 {
		t.Fatal("the first run should fail")
	}
	check("the error", []byte(stderr))
	info, err := os.ReadFile(filepath.Join(dir, "out.info"))
	if err != nil {
		t.Fatal(err)
	}
	check("the .info", info)
	if !bytes.Contains(info, []byte("bob:***@")) {
		t.Errorf(".info has no redacted address: %q", info)
	}
	// A .info of another address: the error names both.
	stderr, code = run(t, dir, "get", "-o", "out", withPw(otherSrv.FileURL))
	if code != exitBadState {
		t.Errorf("foreign .info: exit %d, want %d: %s", code, exitBadState, stderr)
	}
	check("the foreign .info error", []byte(stderr))
	// Resumed with the same address, a dead mirror and a good one: JSON
	// events, then the summary of the sources.
	failing.Store(false)
	cmd := []string{"get", "--json", "-n", "4", "-o", "out", withPw(flaky.URL + "/file.bin"), dead, withPw(good.FileURL)}
	stdout, stderr, code := runOut(t, dir, cmd...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	sameFile(t, filepath.Join(dir, "out"), data)
	check("the JSON events", stdout)
	check("stderr with --json", []byte(stderr))
	if !bytes.Contains(stdout, []byte("bob:***@")) {
		t.Errorf("the events show no redacted address: %s", stdout)
	}
	stderr, code = run(t, t.TempDir(), "get", "-n", "4", "-o", "out", withPw(good.FileURL), withPw(good2.FileURL))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	check("the summary", []byte(stderr))
	// Batch lines and the batch summary.
	list := filepath.Join(t.TempDir(), "list")
	os.WriteFile(list, []byte(withPw(good.FileURL)+" a\n"+withPw(good.URL+"/missing")+" b\n"), 0o644)
	stderr, code = run(t, t.TempDir(), "get", "-i", list)
	if code != exitHTTPStatus {
		t.Errorf("batch: exit %d, want %d: %s", code, exitHTTPStatus, stderr)
	}
	check("the batch lines", []byte(stderr))
	if !bytes.Contains(printed.Bytes(), []byte("bob:***@")) {
		t.Error("nothing printed shows the redacted address")
	}
}

// runOut is run that also returns stdout.
func runOut(t *testing.T, dir string, args ...string) (stdout []byte, stderr string, code int) {
	t.Helper()
	var out bytes.Buffer
	stderr, code = runWith(t, dir, &out, args...)
	return out.Bytes(), stderr, code
}

// rawServer answers every request with the bytes of head (a status line
// and headers, written as they are) and no body.
func rawServer(t *testing.T, head string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				c.Write([]byte(head))
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// Case 4. curl's error line gives only the status code ("The requested
// URL returned error: 404"); its -v shows headers as they came. netfox
// prints the reason phrase, ETags and names escaped: they reach the
// terminal as \x.. and \u.... .
func TestServerTextEscaped(t *testing.T) {
	t.Parallel()
	u := rawServer(t, "HTTP/1.1 404 Not\x1b]0;TITLE\x07\x1b[31mFound\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	stderr, code := run(t, t.TempDir(), "get", "-o", "out", u+"/f.bin")
	if code != exitHTTPStatus {
		t.Errorf("exit %d, want %d: %q", code, exitHTTPStatus, stderr)
	}
	if strings.ContainsAny(stderr, "\x1b\x07") {
		t.Errorf("raw control characters reach the terminal: %q", stderr)
	}
	if !strings.Contains(stderr, `Not\x1b]0;TITLE\x07\x1b[31mFound`) {
		t.Errorf("the reason phrase is not shown escaped: %q", stderr)
	}

	// An ETag of format and C1 characters, in the notice of a change.
	data := content(200_000, 144)
	etag := atomic.Value{}
	etag.Store(`"v1"`)
	failing := atomic.Bool{}
	failing.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" && !probeRequest(r) && failing.Load() {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("ETag", etag.Load().(string))
		http.ServeContent(w, r, "f.bin", time.Unix(1_700_000_000, 0), bytes.NewReader(data))
	}))
	defer srv.Close()
	dir := t.TempDir()
	if _, code := run(t, dir, "get", "-q", "--min-split", "16KiB", "--max-tries", "1", "--retry-wait", "10ms", "-o", "out", srv.URL+"/f.bin"); code == 0 {
		t.Fatal("the first run should fail")
	}
	failing.Store(false)
	etag.Store("\"v2\u202e\u009b\"")
	stdout, stderr, code := runOut(t, dir, "get", "--json", "-o", "out", srv.URL+"/f.bin")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	sameFile(t, filepath.Join(dir, "out"), data)
	var notice string
	for _, ev := range parseEvents(t, stdout) {
		if m, _ := ev["message"].(string); ev["event"] == "notice" && ev["kind"] == "remote_changed" {
			notice = m
		}
	}
	if !strings.Contains(notice, `"v2\u202e\u009b"`) || strings.ContainsAny(notice, "\u202e\u009b") {
		t.Errorf("the ETag is not escaped in the notice %q", notice)
	}
}

// Case 5. curl -o writes through a symbolic link (it opens the name it is
// given; its -C - appends to whatever is there). netfox opens PATH.part and PATH.info with O_NOFOLLOW: a planted link is
// refused (exit 7) and its target untouched. A .part that has no .info is
// someone else's: netfox leaves it as it is (exit 6) and --restart
// discards it.
func TestPartNotClobbered(t *testing.T) {
	t.Parallel()
	data := content(150_000, 145)
	srv := testserver.New(t, data)
	victimBytes := []byte("export PATH=/usr/bin # the user's own file\n")

	t.Run("symlinked .part", func(t *testing.T) {
		dir := t.TempDir()
		victim := filepath.Join(t.TempDir(), "bashrc")
		os.WriteFile(victim, victimBytes, 0o644)
		os.Symlink(victim, filepath.Join(dir, "out.part"))
		stderr, code := run(t, dir, "get", "-q", "-o", "out", srv.FileURL)
		if code != exitIO {
			t.Errorf("exit %d, want %d: %s", code, exitIO, stderr)
		}
		if !strings.Contains(stderr, "symbolic link") {
			t.Errorf("message %q", stderr)
		}
		sameFile(t, victim, victimBytes)
	})
	t.Run("symlinked .info", func(t *testing.T) {
		dir := t.TempDir()
		victim := filepath.Join(t.TempDir(), "bashrc")
		os.WriteFile(victim, victimBytes, 0o644)
		os.Symlink(victim, filepath.Join(dir, "out.info"))
		// Whatever netfox makes of it, it never writes through it.
		run(t, dir, "get", "-q", "-o", "out", srv.FileURL)
		run(t, dir, "get", "-q", "--restart", "-o", "out", srv.FileURL)
		sameFile(t, victim, victimBytes)
	})
	t.Run("another program's .part", func(t *testing.T) {
		dir := t.TempDir()
		theirs := content(400_000, 146)
		os.WriteFile(filepath.Join(dir, "out.part"), theirs, 0o644)
		stderr, code := run(t, dir, "get", "-q", "-o", "out", srv.FileURL)
		if code != exitBadState {
			t.Errorf("exit %d, want %d: %s", code, exitBadState, stderr)
		}
		if !strings.Contains(stderr, "--restart") {
			t.Errorf("no advice in %q", stderr)
		}
		sameFile(t, filepath.Join(dir, "out.part"), theirs)
		if stderr, code := run(t, dir, "get", "-q", "--restart", "-o", "out", srv.FileURL); code != 0 {
			t.Fatalf("--restart: exit %d: %s", code, stderr)
		}
		sameFile(t, filepath.Join(dir, "out"), data)
	})
}

// Case 6, the end of it. curl renames nothing (it writes PATH directly;
// --no-clobber picks another name). netfox's final rename never replaces a PATH that appeared
// during the download (renameat2 RENAME_NOREPLACE): exit 9, PATH left as
// it is, the finished download kept in PATH.part. The race between two
// runs on one PATH.part is tested in fileaccess (TestOpenSeesRename).
func TestFinalRenameKeepsANewFile(t *testing.T) {
	t.Parallel()
	data := content(200_000, 147)
	dir := t.TempDir()
	theirs := []byte("written by someone else meanwhile\n")
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" && !probeRequest(r) {
			once.Do(func() { os.WriteFile(filepath.Join(dir, "out"), theirs, 0o644) })
		}
		http.ServeContent(w, r, "f.bin", time.Unix(1_700_000_000, 0), bytes.NewReader(data))
	}))
	defer srv.Close()
	stderr, code := run(t, dir, "get", "-q", "--min-split", "16KiB", "-o", "out", srv.URL+"/f.bin")
	if code != exitExists {
		t.Errorf("exit %d, want %d: %s", code, exitExists, stderr)
	}
	sameFile(t, filepath.Join(dir, "out"), theirs)
	sameFile(t, filepath.Join(dir, "out.part"), data)
}

// Case 7. curl -J keeps a server's name as it is but for its directory
// part, up to the file system's error. netfox drops format and
// other invisible characters, so that "inv\u202Etxt.exe" is saved as
// "invtxt.exe", not shown as "invexe.txt"; and shortens a long name,
// keeping its extension, so that its .info's temporary file fits too.
func TestServerNames(t *testing.T) {
	t.Parallel()
	data := content(50_000, 148)
	tests := []struct {
		name, disposition string
		want              func(string) bool
	}{
		{"right-to-left override", "attachment; filename*=UTF-8''inv%E2%80%AEtxt.exe", func(s string) bool { return s == "invtxt.exe" }},
		{"zero-width and bidi marks", "attachment; filename*=UTF-8''a%E2%80%8Bb%E2%80%8Fc%EF%BB%BF.iso", func(s string) bool { return s == "abc.iso" }},
		{"240 bytes", "attachment; filename=\"" + strings.Repeat("n", 236) + ".bin\"", func(s string) bool {
			return strings.HasSuffix(s, ".bin") && len(s+".info.4294967295.tmp") <= 255
		}},
		{"300 bytes", "attachment; filename=\"" + strings.Repeat("m", 296) + ".tar\"", func(s string) bool {
			return strings.HasSuffix(s, ".tar") && len(s+".info.4294967295.tmp") <= 255
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.New(t, data, testserver.ContentDisposition(tt.disposition))
			dir := t.TempDir()
			if stderr, code := run(t, dir, "get", "-q", srv.FileURL); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 || !tt.want(entries[0].Name()) {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Fatalf("saved as %q", names)
			}
			sameFile(t, filepath.Join(dir, entries[0].Name()), data)
		})
	}
}

// pemCert is the certificate of a TLS test server, PEM-encoded, for
// --ca-cert.
func pemCert(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}
