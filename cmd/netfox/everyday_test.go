package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/ftptest"
	"github.com/netfox/netfox/internal/testserver"
)

// TestChecksumCorrectedOnlyVerifies: after a checksum mismatch the .part
// is recorded as complete, so the run with the right checksum (in
// aria2c's spelling, sha-256) fetches nothing: the done event's fetched
// is 0 and the server sends no byte more; the file is right.
func TestChecksumCorrectedOnlyVerifies(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

// writeList writes a -i list into dir.
func writeList(t *testing.T, dir string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "list"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBatchDuplicateOutputs: two lines of a list that would write the same
// file are refused before any request (exit 2, both line numbers named):
// the same OUTPUT, the same name from their URLs, a relative OUTPUT
// inside -d and an absolute one at the same place.
func TestBatchDuplicateOutputs(t *testing.T) {
	t.Parallel()
	srv := testserver.New(t, content(10_000, 294))
	tests := []struct {
		name  string
		lines []string
		args  []string
		first int
		dup   int
	}{
		{"same OUTPUT", []string{"# a comment", srv.FileURL + " out.bin", "", srv.URL + "/other.bin out.bin"}, nil, 2, 4},
		{"same URL name", []string{srv.FileURL, srv.URL + "/x/file.bin"}, nil, 1, 2},
		{"OUTPUT and URL name", []string{srv.FileURL + " f", srv.URL + "/f"}, nil, 1, 2},
		{"inside -d", []string{srv.FileURL + " a/b.bin", srv.FileURL + " ABS"}, []string{"-d", "dl"}, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for i, l := range tt.lines {
				tt.lines[i] = strings.ReplaceAll(l, "ABS", filepath.Join(dir, "dl", "a", "b.bin"))
			}
			writeList(t, dir, tt.lines...)
			before := srv.Requests()
			stderr, code := run(t, dir, append([]string{"get", "-i", "list"}, tt.args...)...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d: %s", code, exitUsage, stderr)
			}
			if !regexp.MustCompile(fmt.Sprintf(`\b%d\b.*\b%d\b`, tt.first, tt.dup)).MatchString(stderr) {
				t.Errorf("the message does not name lines %d and %d: %s", tt.first, tt.dup, stderr)
			}
			if n := srv.Requests() - before; n != 0 {
				t.Errorf("%d requests before the refusal", n)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("%d entries in the directory, want the list alone", len(entries))
			}
		})
	}
}

// TestBatchSameServerName: two lines whose server names their files
// alike (Content-Disposition) do not race for the file: one is saved,
// the other fails with the usage code, in this run and the next, never
// with -c's advice; the saved file is whole.
func TestBatchSameServerName(t *testing.T) {
	t.Parallel()
	a, b := content(200_000, 295), content(300_000, 296)
	srvA := testserver.New(t, a, testserver.Named("a.bin"), testserver.ContentDisposition(`attachment; filename="same.bin"`))
	srvB := testserver.New(t, b, testserver.Named("b.bin"), testserver.ContentDisposition(`attachment; filename="same.bin"`))
	dir := t.TempDir()
	writeList(t, dir, srvA.FileURL, srvB.FileURL)
	for run1 := range 2 {
		stderr, code := run(t, dir, "get", "-j", "2", "-i", "list")
		if code != exitUsage {
			t.Errorf("run %d: exit %d, want %d: %s", run1+1, code, exitUsage, stderr)
		}
		t.Logf("run %d: %s", run1+1, stderr)
		if strings.Contains(stderr, " -c") {
			t.Errorf("run %d advises -c: %s", run1+1, stderr)
		}
		got, err := os.ReadFile(filepath.Join(dir, "same.bin"))
		if err != nil || (sha256Hex(got) != sha256Hex(a) && sha256Hex(got) != sha256Hex(b)) {
			t.Fatalf("run %d: same.bin is neither file (%v)", run1+1, err)
		}
	}
}

// TestDirFlag: -d DIR, created when missing, holds the file under the
// server's name or a relative -o (as aria2c); an absolute -o ignores it;
// -o naming a directory is a usage error that creates nothing; a list's
// files go into -d too.
func TestDirFlag(t *testing.T) {
	t.Parallel()
	data := content(50_000, 297)
	srv := testserver.New(t, data)
	dir := t.TempDir()
	abs := filepath.Join(t.TempDir(), "abs.bin")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-d", "dl/sub"}, "dl/sub/file.bin"},
		{[]string{"--dir", "dl2", "-o", "x/y.bin"}, "dl2/x/y.bin"},
		{[]string{"-d", "dl3", "-o", abs}, abs},
	}
	for _, tt := range tests {
		stderr, code := run(t, dir, append(append([]string{"get", "-q"}, tt.args...), srv.FileURL)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tt.args, code, stderr)
		}
		want := tt.want
		if !filepath.IsAbs(want) {
			want = filepath.Join(dir, want)
		}
		sameFile(t, want, data)
	}
	if _, err := os.Stat(filepath.Join(dir, "dl3")); !os.IsNotExist(err) {
		t.Errorf("-d beside an absolute -o was created (%v)", err)
	}
	os.Mkdir(filepath.Join(dir, "existing"), 0o755)
	for _, o := range []string{"existing", "newdir/"} {
		before := srv.Requests()
		if stderr, code := run(t, dir, "get", "-o", o, srv.FileURL); code != exitUsage {
			t.Errorf("-o %s: exit %d, want %d: %s", o, code, exitUsage, stderr)
		}
		if srv.Requests() != before {
			t.Errorf("-o %s: requests made", o)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "newdir")); !os.IsNotExist(err) {
		t.Errorf("-o newdir/ created it (%v)", err)
	}
	writeList(t, dir, srv.FileURL, srv.FileURL+" renamed.bin")
	if stderr, code := run(t, dir, "get", "-q", "-i", "list", "-d", "batch"); code != 0 {
		t.Fatalf("-i with -d: exit %d: %s", code, stderr)
	}
	sameFile(t, filepath.Join(dir, "batch", "file.bin"), data)
	sameFile(t, filepath.Join(dir, "batch", "renamed.bin"), data)
}

// TestBatchInterruptNamesFiles: Ctrl-C in a batch names each file by its
// output, the one begun as interrupted (its .part and .info kept), those
// never begun as not started (nothing of them on disk); exit 130.
func TestBatchInterruptNamesFiles(t *testing.T) {
	t.Parallel()
	srcDir := t.TempDir()
	os.WriteFile(filepath.Join(srcDir, "f.bin"), content(8<<20, 298), 0o644)
	url, _ := startServe(t, srcDir, 512<<10)
	dir := t.TempDir()
	writeList(t, dir, url+"/f.bin one.bin", url+"/f.bin two.bin", url+"/f.bin three.bin")
	started := time.Now()
	cmd := exec.Command(binary, "get", "-j", "1", "-n", "2", "-i", "list")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForFile(t, filepath.Join(dir, "one.bin.info"), started)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitInterrupted {
		t.Fatalf("exit %v, want %d: %s", err, exitInterrupted, stderr.String())
	}
	t.Logf("stderr:\n%s", stderr.String())
	states := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  (interrupted|not started)\s+(\S+)$`).FindAllStringSubmatch(stderr.String(), -1) {
		states[m[2]] = m[1]
	}
	want := map[string]string{"one.bin": "interrupted", "two.bin": "not started", "three.bin": "not started"}
	if fmt.Sprint(states) != fmt.Sprint(want) {
		t.Errorf("states %v, want %v", states, want)
	}
	for _, f := range []string{"one.bin.part", "one.bin.info"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not kept: %v", f, err)
		}
	}
	for _, f := range []string{"two.bin.part", "three.bin.part"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s exists (%v)", f, err)
		}
	}
}

// TestPlainProgressOffTerminal: with stderr not a terminal, a batch and a
// single download print a progress line every 5 s, with the batch's
// files, bytes of the whole and a speed near the server's.
func TestPlainProgressOffTerminal(t *testing.T) {
	// Not parallel: it measures the rate.
	srcDir := t.TempDir()
	os.WriteFile(filepath.Join(srcDir, "a.bin"), content(3<<20, 299), 0o644)
	os.WriteFile(filepath.Join(srcDir, "b.bin"), content(3<<20, 300), 0o644)
	url, _ := startServe(t, srcDir, 256<<10) // 2 files x 2 connections: 1 MiB/s, 6 s
	dir := t.TempDir()
	writeList(t, dir, url+"/a.bin", url+"/b.bin")
	stderr, code := run(t, dir, "get", "-n", "2", "-j", "2", "-i", "list")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	t.Logf("stderr:\n%s", stderr)
	line := regexp.MustCompile(`(?m)^netfox: (\d+)/(\d+) files, (\d+\.\d) MiB / 6\.0 MiB, (\d+\.\d) (KiB|MiB)/s, ETA \S+, \d+s$`)
	m := line.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no batch progress line")
	}
	rate, _ := strconv.ParseFloat(m[4], 64)
	if m[5] == "KiB" {
		rate /= 1024
	}
	if m[2] != "2" || rate < 0.5 || rate > 1.5 {
		t.Errorf("progress line %q: %s files in all, %.2f MiB/s, want 2 and about 1 MiB/s", m[0], m[2], rate)
	}
	os.Remove(filepath.Join(dir, "a.bin"))
	stderr, code = run(t, dir, "get", "-n", "2", url+"/a.bin")
	if code != 0 {
		t.Fatalf("single: exit %d: %s", code, stderr)
	}
	if !regexp.MustCompile(`(?m)^netfox: \d+\.\d \S+ of 3\.0 MiB \(\d+%\), \d+\.\d \S+/s, ETA \S+$`).MatchString(stderr) {
		t.Errorf("no progress line for a single download:\n%s", stderr)
	}
}

// TestJSONProgressRate: --json progress events carry the rate (bytes/s,
// near the server's) and the ETA (seconds, consistent with the rate).
func TestJSONProgressRate(t *testing.T) {
	// Not parallel: it measures the rate.
	srcDir := t.TempDir()
	os.WriteFile(filepath.Join(srcDir, "f.bin"), content(4<<20, 301), 0o644)
	url, _ := startServe(t, srcDir, 512<<10) // 2 connections: 1 MiB/s
	events, code := getJSON(t, t.TempDir(), "-n", "2", url+"/f.bin")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	n := 0
	for _, e := range events {
		if e["event"] != "progress" {
			continue
		}
		rate, _ := e["rate"].(float64)
		eta, ok := e["eta"].(float64)
		left := e["length"].(float64) - e["written"].(float64)
		if !ok || rate <= 0 {
			t.Errorf("progress event without rate or eta: %v", e)
			continue
		}
		n++
		if rate < 0.4*(1<<20) || rate > 2*(1<<20) {
			t.Errorf("rate %.0f B/s, want about 1 MiB/s", rate)
		}
		if want := left / rate; eta < want-1.5 || eta > want+1.5 {
			t.Errorf("eta %.1f s for %.0f bytes left at %.0f B/s", eta, left, rate)
		}
	}
	if n < 2 {
		t.Errorf("%d progress events with a rate", n)
	}
}

// TestSummaryReplacedOnlyWhenSo: a download where no connection was
// replaced reports none (--json done) and its summary names no
// replacement; "1 file" in a batch of one.
func TestSummaryReplacedOnlyWhenSo(t *testing.T) {
	// Not parallel: a connection starved by parallel tests would be replaced.
	data := content(2<<20, 302)
	srv := testserver.New(t, data)
	events, code := getJSON(t, t.TempDir(), "-n", "4", srv.FileURL)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	done := lastEvent(t, events, "done")
	if done["reconnects"] != 0.0 || done["silent"] != 0.0 || done["retries"] != 0.0 {
		t.Errorf("done: reconnects %v, silent %v, retries %v; want 0", done["reconnects"], done["silent"], done["retries"])
	}
	stderr, code := run(t, t.TempDir(), "get", "-n", "4", srv.FileURL)
	if code != 0 || !regexp.MustCompile(`(?m)^netfox: saved file\.bin \(2\.0 MiB\) in \S+, \S+ \S+/s, \d+ connections?$`).MatchString(stderr) {
		t.Errorf("exit %d, summary with notes where nothing happened:\n%s", code, stderr)
	}
	dir := t.TempDir()
	writeList(t, dir, srv.URL+"/missing.bin")
	stderr, code = run(t, dir, "get", "-i", "list")
	if code != exitHTTPStatus || !regexp.MustCompile(`(?m)^netfox: 1 file: 0 saved, 1 failed$`).MatchString(stderr) {
		t.Errorf("exit %d: %s", code, stderr)
	}
}
