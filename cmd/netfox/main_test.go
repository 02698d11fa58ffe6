package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/testserver"
	"github.com/netfox/netfox/internal/tmpfs"
	"github.com/netfox/netfox/serve"
)

// binary is the netfox built for these tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "netfox-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "netfox")
	// Counts remembered per host (-n auto, bench) go to a temporary
	// cache, never the user's.
	if err := os.Setenv("NETFOX_CACHE_DIR", filepath.Join(dir, "cache")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-race", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building netfox:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run executes netfox with args in dir and returns its stderr and exit code.
func run(t *testing.T, dir string, args ...string) (stderr string, code int) {
	t.Helper()
	return runWith(t, dir, nil, args...)
}

// runWith is run with netfox's stdout going to stdout (nil: discarded).
func runWith(t *testing.T, dir string, stdout io.Writer, args ...string) (stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Stdout = stdout
	return runCmd(t, cmd)
}

// runCmd runs cmd to its end and returns its stderr and exit code; a
// command that cannot be started fails t.
func runCmd(t *testing.T, cmd *exec.Cmd) (stderr string, code int) {
	t.Helper()
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	default:
		t.Fatal(err)
	}
	return errBuf.String(), code
}

func content(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func sameFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(want) {
		t.Fatalf("%s: sha256 %x, want %x", path, sha256.Sum256(got), sha256.Sum256(want))
	}
}

func TestGet(t *testing.T) {
	t.Parallel()
	data := content(300_000, 1)
	srv := testserver.New(t, data)
	dir := t.TempDir()
	stderr, code := run(t, dir, "get", "-q", "-n", "4", srv.FileURL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("-q printed %q", stderr)
	}
	sameFile(t, filepath.Join(dir, "file.bin"), data)
}

// TestExitCodes checks the one-line message and the documented exit code
// of each failure, and that no Go stack trace leaks.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	data := content(100_000, 2)
	srv := testserver.New(t, data)
	changing := testserver.New(t, data, testserver.ChangeEvery(1, content(100_000, 3), data))
	lying := testserver.New(t, data, testserver.WrongContentLength())
	unavailable := testserver.New(t, data, testserver.Status(http.StatusServiceUnavailable, 1000, "0"))
	forbidden := testserver.New(t, data, testserver.Status(http.StatusForbidden, 1000, ""))
	gzipped := testserver.New(t, data, testserver.GzipRanges())
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	tests := []struct {
		name    string
		setup   func(dir string)
		args    []string
		code    int
		message string
	}{
		{"no URL", nil, []string{"get"}, exitUsage, "netfox: get needs a URL"},
		{"unknown flag", nil, []string{"get", "--bogus", srv.FileURL}, exitUsage, "unknown flag --bogus (see 'netfox get --help')"},
		{"unknown short flag after the URL", nil, []string{"get", srv.FileURL, "-bogus"}, exitUsage, "unknown flag -bogus (see 'netfox get --help')"},
		{"misspelt flag", nil, []string{"get", "--conections", "2", srv.FileURL}, exitUsage, "unknown flag --conections (did you mean --connections? see"},
		{"bad flag value", nil, []string{"get", "-n", "two", srv.FileURL}, exitUsage, `-n: invalid value "two" (see 'netfox get --help')`},
		{"unknown command", nil, []string{"fetch", srv.FileURL}, exitUsage, `unknown command "fetch"`},
		{"misspelt command", nil, []string{"gte", srv.FileURL}, exitUsage, `unknown command "gte" (did you mean "get"?`},
		{"negative rate", nil, []string{"get", "--limit-rate", "-5", srv.FileURL}, exitUsage, `--limit-rate: invalid rate "-5"`},
		{"zero connections", nil, []string{"get", "-n", "0", srv.FileURL}, exitUsage, `-n: invalid value "0"`},
		{"absurd connections", nil, []string{"get", "-n", "100000", srv.FileURL}, exitUsage, "connections must be between 1 and 256, not 100000"},
		{"bad scheme", nil, []string{"get", "gopher://x/y"}, exitUsage, `unsupported scheme "gopher"`},
		{"malformed URL", nil, []string{"get", "http://[::1"}, exitUsage, "bad URL"},
		{"404", nil, []string{"get", srv.URL + "/missing"}, exitHTTPStatus, "server answered 404 Not Found for " + srv.URL + "/missing"},
		{"connection refused", nil, []string{"get", "http://127.0.0.1:1/x"}, exitNetwork, "connection refused"},
		{"lying server", nil, []string{"get", "-o", "out", lying.FileURL}, exitBadResponse, "does not match the request"},
		{"remote keeps changing", nil, []string{"get", "--min-split", "16KiB", "-o", "out", changing.FileURL}, exitRemoteChanged, "remote file changed"},
		{"exists", func(dir string) { os.WriteFile(filepath.Join(dir, "file.bin"), nil, 0o644) }, []string{"get", srv.FileURL}, exitExists, "use --overwrite"},
		{"corrupt .info", func(dir string) {
			os.WriteFile(filepath.Join(dir, "file.bin.info"), []byte("junk"), 0o644)
			os.WriteFile(filepath.Join(dir, "file.bin.part"), nil, 0o644)
		}, []string{"get", srv.FileURL}, exitBadState, "file.bin.info: not a netfox control file (run again with --restart"},
		{"503 until giving up", nil, []string{"get", "-q", "--max-tries", "2", "--retry-wait", "10ms", unavailable.FileURL}, exitHTTPStatus, "503 Service Unavailable"},
		{"403", nil, []string{"get", forbidden.FileURL}, exitHTTPStatus, "server answered 403 Forbidden"},
		{"compressed range", nil, []string{"get", gzipped.FileURL}, exitBadResponse, `came with Content-Encoding "gzip"`},
		{"untrusted certificate", nil, []string{"get", tlsSrv.URL + "/f"}, exitNetwork, "TLS certificate of " + strings.TrimPrefix(tlsSrv.URL, "https://") + " is not trusted"},
		{".info without .part", func(dir string) {
			os.WriteFile(filepath.Join(dir, "file.bin.info"), []byte("whatever"), 0o644)
		}, []string{"get", srv.FileURL}, exitBadState, "file.bin.part is missing (run again with --restart"},
		{"malformed checksum", nil, []string{"get", "--checksum", "sha256=nothex", srv.FileURL}, exitUsage, "a sha256 digest is 64 hex digits"},
		{"checksum mismatch", nil, []string{"get", "-q", "--checksum", "md5=00000000000000000000000000000000", srv.FileURL}, exitChecksum, "checksum mismatch: md5 of file.bin.part is"},
		{"bad stall speed", nil, []string{"get", "--stall-speed", "fast", srv.FileURL}, exitUsage, `--stall-speed: invalid size "fast"`},
		{"read-only directory", func(dir string) { os.Chmod(dir, 0o555) }, []string{"get", srv.FileURL}, exitIO, "permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.setup != nil {
				tt.setup(dir)
			}
			if tt.name == "read-only directory" && os.Geteuid() == 0 {
				t.Skip("root writes into read-only directories")
			}
			stderr, code := run(t, dir, append([]string{}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.message) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.message)
			}
			if lines := strings.Count(strings.TrimSpace(stderr), "\n") + 1; lines > 2 || strings.Contains(stderr, "goroutine ") {
				t.Errorf("want a short message, got %d lines: %q", lines, stderr)
			}
		})
	}
}

// startServe runs the serve package in-process with a per-connection cap.
func startServe(t *testing.T, dir string, rate int64) (url string, srv *serve.Server) {
	t.Helper()
	srv = serve.New(serve.Options{Dir: dir, RatePerConn: rate})
	url, stop, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return url, srv
}

// TestInterruptAndResume sends SIGINT and SIGTERM to a running download:
// each must exit with the interrupted code, keep .part and .info, and the
// same command must finish the file.
func TestInterruptAndResume(t *testing.T) {
	// Not parallel: its summary must say 4 connections, and a connection starved by parallel tests is replaced.
	srcDir := t.TempDir()
	data := content(8<<20, 4)
	os.WriteFile(filepath.Join(srcDir, "f.bin"), data, 0o644)
	url, _ := startServe(t, srcDir, 1<<20)
	dir := t.TempDir()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		started := time.Now()
		cmd := exec.Command(binary, "get", "-q", "-n", "4", url+"/f.bin")
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitForFile(t, filepath.Join(dir, "f.bin.info"), started)
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitInterrupted {
			t.Fatalf("%v: exit %v, want %d", sig, err, exitInterrupted)
		}
		if !strings.Contains(stderr.String(), "run the same command again to resume") {
			t.Errorf("%v: stderr %q", sig, stderr.String())
		}
		for _, f := range []string{"f.bin.part", "f.bin.info"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Fatalf("%v: %s not kept: %v", sig, f, err)
			}
		}
	}
	stderr, code := run(t, dir, "get", "-n", "4", url+"/f.bin")
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	t.Logf("resume:\n%s", stderr)
	// The resume says so, and the summary tells fetched from resumed.
	if !regexp.MustCompile(`(?m)^netfox: resuming f\.bin: \d+\.\d \S+ of 8\.0 MiB already here$`).MatchString(stderr) ||
		!regexp.MustCompile(`(?m)^netfox: saved f\.bin \(8\.0 MiB\) in \S+, \d+\.\d \S+ fetched now at .*/s, \d+\.\d \S+ resumed, 4 connections$`).MatchString(stderr) {
		t.Errorf("resume not announced or summary not split:\n%s", stderr)
	}
	sameFile(t, filepath.Join(dir, "f.bin"), data)
}

// waitForFile waits up to 10 s for path to be written after since: a
// download saves its .info once its plan is made and then every 100ms,
// which is when a signal tests resuming.
func waitForFile(t *testing.T, path string, since time.Time) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(path); err == nil && fi.ModTime().After(since) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s did not appear", path)
}

// TestSecondProcessRefused runs two netfox on the same output: the second
// must stop at once with the busy code while the first, whose ranges past
// the first MiB the server holds until then, finishes. (What the second
// asks to learn the file, HEAD or a first range, is answered at once.)
func TestSecondProcessRefused(t *testing.T) {
	t.Parallel()
	data := content(4<<20, 5)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var start int64
		if _, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-", &start); err == nil && start >= 1<<20 {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "f.bin", time.Time{}, bytes.NewReader(data))
	}))
	defer srv.Close()
	dir := t.TempDir()
	first := exec.Command(binary, "get", "-q", "-n", "4", srv.URL+"/f.bin")
	first.Dir = dir
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	waitForFile(t, filepath.Join(dir, "f.bin.info"), time.Time{})
	stderr, code := run(t, dir, "get", "-q", srv.URL+"/f.bin")
	close(release)
	if code != exitExists || !strings.Contains(stderr, "locked by another download") {
		t.Errorf("second run: exit %d, stderr %q", code, stderr)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("first run: %v", err)
	}
	sameFile(t, filepath.Join(dir, "f.bin"), data)
}

// TestFaultsRecovered runs the binary against servers with faults it must
// get past: the file must come out byte-identical, exit code 0.
func TestFaultsRecovered(t *testing.T) {
	t.Parallel()
	data := content(1<<20, 7)
	tests := []struct {
		name string
		opts []testserver.Option
	}{
		{"cut connections", []testserver.Option{testserver.CutAfter(70_000, 5)}},
		{"stalls", []testserver.Option{testserver.StallAfter(70_000, 3)}},
		{"503 then fine", []testserver.Option{testserver.Status(http.StatusServiceUnavailable, 3, "0")}},
		{"ranges ignored", []testserver.Option{testserver.IgnoreRanges()}},
		{"no length", []testserver.Option{testserver.NoLength()}},
		{"changed once midway", []testserver.Option{testserver.ChangeAfter(3, content(1<<20, 8))}},
		{"hostile name", []testserver.Option{testserver.ContentDisposition(`attachment; filename="../../../tmp/evil"`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.New(t, data, tt.opts...)
			dir := t.TempDir()
			stderr, code := run(t, dir, "get", "-q", "-n", "4", "--min-split", "64KiB", "--stall-time", "300ms", "--retry-wait", "50ms", srv.FileURL)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Fatalf("want exactly one file in the directory, got %v", entries)
			}
			want := data
			if tt.name == "changed once midway" {
				want = content(1<<20, 8)
			}
			sameFile(t, filepath.Join(dir, entries[0].Name()), want)
		})
	}
}

// TestDiskFullBinary: exit code 7 and advice when the disk is full, and
// the same command completes once there is room.
func TestDiskFullBinary(t *testing.T) {
	t.Parallel()
	dir := tmpfs.Mount(t, 1<<20)
	data := content(3<<20, 9)
	srv := testserver.New(t, data)
	stderr, code := run(t, dir, "get", "-q", srv.FileURL)
	if code != exitIO || !strings.Contains(stderr, "no space left on device (free some space and run the same command again: the download resumes)\n") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	tmpfs.Resize(t, dir, 8<<20)
	if stderr, code := run(t, dir, "get", "-q", srv.FileURL); code != 0 {
		t.Fatalf("after resize: exit %d: %s", code, stderr)
	}
	sameFile(t, filepath.Join(dir, "file.bin"), data)
}

// TestReadOnlyFileSystem: exit code 7 and advice on a read-only mount.
func TestReadOnlyFileSystem(t *testing.T) {
	t.Parallel()
	dir := tmpfs.Mount(t, 1<<20)
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only: %v: %s", err, out)
	}
	srv := testserver.New(t, content(1000, 10))
	stderr, code := run(t, dir, "get", "-q", srv.FileURL)
	if code != exitIO || !strings.Contains(stderr, "read-only file system (choose a writable place with -o)") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
