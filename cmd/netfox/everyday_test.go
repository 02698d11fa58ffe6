package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netfox/netfox/internal/ftptest"
	"github.com/netfox/netfox/internal/testserver"
)

// TestChecksumCorrectedOnlyVerifies: after a checksum mismatch the .part
// is recorded as complete, so the run with the right checksum (in
// aria2c's spelling, sha-256) fetches nothing: the done event's fetched
// is 0 and the server sends no byte more; the file is right.
func TestChecksumCorrectedOnlyVerifies(t *testing.T) {
	data := content(3<<20, 290)
	srv := testserver.New(t, data)
	dir := t.TempDir()
	wrong := sha256.Sum256([]byte("not the file"))
	if _, code := getJSON(t, dir, "-n", "4", "--checksum", "sha256="+hex.EncodeToString(wrong[:]), srv.FileURL); code != exitChecksum {
		t.Fatalf("wrong checksum: exit %d, want %d", code, exitChecksum)
	}
	sentBefore := srv.BytesSent()
	events, code := getJSON(t, dir, "-n", "4", "--checksum", "SHA-256="+sha256Hex(data), srv.FileURL)
	if code != 0 {
		t.Fatalf("right checksum: exit %d", code)
	}
	done := lastEvent(t, events, "done")
	if done["fetched"] != 0.0 || done["resumed"] != float64(len(data)) {
		t.Errorf("the second run fetched %v bytes and resumed %v, want 0 and %d", done["fetched"], done["resumed"], len(data))
	}
	// The probe's first answer may send a little before it is closed;
	// nothing like the file again.
	if sent := srv.BytesSent() - sentBefore; sent >= 1<<20 {
		t.Errorf("the server sent %d bytes to the second run", sent)
	}
	sameFile(t, filepath.Join(dir, "file.bin"), data)
}

// TestChecksumSpellings: aria2c's names of the algorithms are accepted,
// in any case; an unknown one is a usage error.
func TestChecksumSpellings(t *testing.T) {
	data := content(100_000, 291)
	srv := testserver.New(t, data)
	for i, algo := range []string{"sha-256", "SHA-256", "sha256", "Sha256"} {
		dir := t.TempDir()
		if stderr, code := run(t, dir, "get", "-q", "--checksum", algo+"="+sha256Hex(data), srv.FileURL); code != 0 {
			t.Errorf("%d: --checksum %s=: exit %d: %s", i, algo, code, stderr)
		}
	}
	if _, code := run(t, t.TempDir(), "get", "-q", "--checksum", "sha-3=00", srv.FileURL); code != exitUsage {
		t.Errorf("--checksum sha-3=: exit %d, want %d", code, exitUsage)
	}
}

// TestNotFoundFTPAndHTTP: a missing file is the same exit code over FTP
// (550 to SIZE) as over HTTP (404), and nothing is left behind.
func TestNotFoundFTPAndHTTP(t *testing.T) {
	srv := testserver.New(t, content(1000, 292))
	ftp := ftptest.Start(t, ftptest.Options{Root: t.TempDir()})
	for _, url := range []string{srv.URL + "/missing.bin", ftp.URL + "/missing.bin"} {
		dir := t.TempDir()
		stderr, code := run(t, dir, "get", url)
		if code != exitHTTPStatus {
			t.Errorf("%s: exit %d, want %d: %s", url, code, exitHTTPStatus, stderr)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s: left %d files", url, len(entries))
		}
	}
}

// TestVersionIsUserAgent: --version and the User-Agent say the same
// version: the one of the build information in the tests' binary, the
// one set with -ldflags -X (as the Makefile does) in another.
func TestVersionIsUserAgent(t *testing.T) {
	stamped := filepath.Join(t.TempDir(), "netfox")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=1.2.3-test", "-o", stamped, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	for _, bin := range []string{binary, stamped} {
		out, err := exec.Command(bin, "--version").Output()
		v, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "netfox version ")
		if err != nil || !ok || v == "" || strings.ContainsAny(v, " ()") {
			t.Fatalf("%s --version: %v: %q", bin, err, out)
		}
		if bin == stamped && v != "1.2.3-test" {
			t.Errorf("-X main.version=1.2.3-test: --version says %q", v)
		}
		rec := &recorder{data: content(10_000, 293)}
		srv := httptest.NewServer(rec)
		cmd := exec.Command(bin, "get", "-q", "-o", "out", srv.URL+"/f.bin")
		cmd.Dir = t.TempDir()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("get: %v: %s", err, out)
		}
		srv.Close()
		if !rec.all(func(r *http.Request) bool { return r.UserAgent() == "netfox/"+v }) {
			t.Errorf("%s: a request's User-Agent is not netfox/%s", bin, v)
		}
	}
}
