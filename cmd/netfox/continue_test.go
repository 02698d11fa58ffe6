package main

import (
	"bytes"
	"crypto/sha256"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/testserver"
	"github.com/netfox/netfox/serve"
)

const mib = 1 << 20

// loggingServe serves dir in-process; served stops the server and
// returns the body bytes it sent and its request log (one line per
// request), final once every handler has counted.
func loggingServe(t *testing.T, dir string) (url string, served func() (int64, string)) {
	t.Helper()
	var logBuf bytes.Buffer // written under the logger's lock, read after stop
	srv := serve.New(serve.Options{Dir: dir, Log: log.New(&logBuf, "", 0)})
	url, stop, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return url, func() (int64, string) {
		stop()
		return srv.BytesSent(), logBuf.String()
	}
}

// servedRanges parses a serve log into the byte ranges whose bodies were
// sent: [first, first+bytes) of each 206.
var logRange = regexp.MustCompile(`range=bytes=(\d+)-\d+ status=206 bytes=(\d+)`)

// probeBytes is what the probe's GET of the first byte is served: every
// run asks for it, since a HEAD answer is only a hint.
const probeBytes = 1

func servedRanges(t *testing.T, serveLog string) [][2]int64 {
	t.Helper()
	var ranges [][2]int64
	for _, m := range logRange.FindAllStringSubmatch(serveLog, -1) {
		first, _ := strconv.ParseInt(m[1], 10, 64)
		n, _ := strconv.ParseInt(m[2], 10, 64)
		ranges = append(ranges, [2]int64{first, first + n})
	}
	return ranges
}

// headC writes the first n bytes of src to dst with head -c, as a user
// would cut a partial file (curl -r and wget leave the same bytes).
func headC(t *testing.T, src, dst string, n int64) {
	t.Helper()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("head", "-c", strconv.FormatInt(n, 10), src)
	cmd.Stdout = out
	if err := cmd.Run(); err != nil {
		t.Fatalf("head -c: %v", err)
	}
}

// fileState is what "left exactly as it was" compares: the bytes and the
// modification time.
type fileState struct {
	sum   [32]byte
	mtime time.Time
}

func stateOf(t *testing.T, path string) fileState {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fileState{sum: sha256.Sum256(data), mtime: fi.ModTime()}
}

func mustNotExist(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists (err %v)", p, err)
		}
	}
}

// TestContinueAdoptsPartial is the acceptance: a 19 MiB partial of
// a 64 MiB file, cut by head -c, is completed byte-identical with only
// the rest fetched (plus the 512 KiB check of its windows), from PATH and from a
// lone PATH.part alike. The server's log shows that no byte below 19 MiB
// but the overlap was sent.
func TestContinueAdoptsPartial(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("64 MiB download")
	}
	srcDir := t.TempDir()
	data := make([]byte, 64*mib)
	rand.NewChaCha8([32]byte{18}).Read(data)
	src := filepath.Join(srcDir, "f.iso")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	const have = 19 * mib
	const check = mib / 2 // what -c compares again
	rest := int64(len(data) - have)
	for _, name := range []string{"f.iso", "f.iso.part"} {
		t.Run(name, func(t *testing.T) {
			url, served := loggingServe(t, srcDir)
			dir := t.TempDir()
			headC(t, src, filepath.Join(dir, name), have)
			cmd := exec.Command(binary, "get", "--json", "-c", "-n", "8", url+"/f.iso")
			cmd.Dir = dir
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v: %s", err, stderr.String())
			}
			sameFile(t, filepath.Join(dir, "f.iso"), data)
			mustNotExist(t, filepath.Join(dir, "f.iso.part"), filepath.Join(dir, "f.iso.info"))

			events := parseEvents(t, stdout.Bytes())
			done := events[len(events)-1]
			if done["event"] != "done" || done["resumed"] != float64(have) || done["fetched"] != float64(rest+check) {
				t.Errorf("done event %v, want resumed %d and fetched %d (the rest and the check)", done, have, rest+check)
			}
			sent, serveLog := served()
			var below, requestsBelow int64
			for _, r := range servedRanges(t, serveLog) {
				if r == [2]int64{0, probeBytes} {
					continue // the probe's GET of the first byte
				}
				if r[0] < have {
					requestsBelow++
					below += min(r[1], have) - r[0]
				}
			}
			// The check: 9 windows spread over the partial, 512 KiB in all.
			if requestsBelow != 9 || below != check {
				t.Errorf("%d requests sent %d bytes below %d, want the 9 windows of the check, %d bytes; log:\n%s", requestsBelow, below, have, check, serveLog)
			}
			// Above the partial, cut connections (a stolen far half, a
			// hedge that lost) may have been sent more than netfox read.
			t.Logf("partial %d MiB of %d MiB: server sent %.2f MiB in all, %.2f MiB below %d MiB; netfox received %v bytes", have/mib, len(data)/mib, float64(sent)/mib, float64(below)/mib, have/mib, done["fetched"])
		})
	}
}

// TestContinueLeavesOtherFiles: a partial of another file, one longer than
// the remote, and a file of another kind are refused with their exit code
// and left exactly as they were; a complete file is reported complete.
func TestContinueLeavesOtherFiles(t *testing.T) {
	// Not parallel: it counts bytes served, and a probe slowed by parallel tests is hedged.
	srcDir := t.TempDir()
	data := content(3*mib, 5)
	if err := os.WriteFile(filepath.Join(srcDir, "f.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	other := content(2*mib, 6)
	// Equal to the remote but for one byte: the first, in the first
	// window the check compares; the last, in the last window.
	firstByteWrong := append([]byte(nil), data[:2*mib]...)
	firstByteWrong[0] ^= 1
	lastByteWrong := append([]byte(nil), data[:2*mib]...)
	lastByteWrong[2*mib-1] ^= 1
	// Issue 26 case 12: a partial of another version whose first MiB
	// differs and whose end is the remote's; comparing only the end let
	// it through, and the result was the old version's bytes.
	otherVersion := append(content(mib, 7), data[mib:2*mib]...)
	tests := []struct {
		name   string
		file   string // in the download directory
		bytes  []byte
		code   int
		served int64 // body bytes the server sends
	}{
		// The check stops at the first window that differs.
		{"partial of another file", "f.bin", other, exitNotPartial, 32 << 10},
		{"lone .part of another file", "f.bin.part", other, exitNotPartial, 32 << 10},
		{"first byte differs", "f.bin", firstByteWrong, exitNotPartial, 32 << 10},
		{"last byte differs", "f.bin", lastByteWrong, exitNotPartial, mib / 2},
		{"first MiB of another version", "f.bin", otherVersion, exitNotPartial, 32 << 10},
		{"small partial of another file", "f.bin", other[:1000], exitNotPartial, 1000},
		{"longer than the remote", "f.bin", append(append([]byte(nil), data...), 0), exitNotPartial, 0},
		{"complete", "f.bin", data, exitOK, mib / 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, served := loggingServe(t, srcDir)
			dir := t.TempDir()
			path := filepath.Join(dir, tt.file)
			if err := os.WriteFile(path, tt.bytes, 0o644); err != nil {
				t.Fatal(err)
			}
			before := stateOf(t, path)
			stderr, code := run(t, dir, "get", "-q", "-c", url+"/f.bin")
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr)
			}
			if after := stateOf(t, path); after != before {
				t.Errorf("%s changed: %+v, was %+v", tt.file, after, before)
			}
			var others []string
			for _, f := range []string{"f.bin", "f.bin.part", "f.bin.info"} {
				if f != tt.file {
					others = append(others, filepath.Join(dir, f))
				}
			}
			mustNotExist(t, others...)
			if sent, _ := served(); sent != tt.served+probeBytes {
				t.Errorf("served %d bytes, want %d and the probe's %d", sent, tt.served, probeBytes)
			}
		})
	}
}

// TestContinueCompletesLonePart: a complete lone .part becomes the output.
func TestContinueCompletesLonePart(t *testing.T) {
	t.Parallel()
	data := content(200_000, 7)
	srv := testserver.New(t, data)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file.bin.part"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if stderr, code := run(t, dir, "get", "-q", "-c", srv.FileURL); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	sameFile(t, filepath.Join(dir, "file.bin"), data)
	mustNotExist(t, filepath.Join(dir, "file.bin.part"), filepath.Join(dir, "file.bin.info"))
}

// TestContinueWithoutValidators: the overlap check is what makes the
// partial trustworthy, so a server without ETag or Last-Modified does not
// make the adopted bytes go to waste.
func TestContinueWithoutValidators(t *testing.T) {
	// Not parallel: it counts bytes served, and a probe slowed by parallel tests is hedged.
	data := content(3*mib, 8)
	srv := testserver.New(t, data, testserver.NoValidators())
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file.bin"), data[:2*mib], 0o644); err != nil {
		t.Fatal(err)
	}
	if stderr, code := run(t, dir, "get", "-q", "-c", srv.FileURL); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	sameFile(t, filepath.Join(dir, "file.bin"), data)
	if sent, want := srv.BytesSent(), int64(2*mib+probeBytes); sent > want {
		t.Errorf("served %d bytes, want at most %d (the 1 MiB of the check, the rest and the probe's byte)", sent, want)
	}
}

// TestContinueRefusals: what -c cannot do is refused before anything is
// touched, with the documented exit code; without -c, the refusal of a
// shorter PATH points to -c.
func TestContinueRefusals(t *testing.T) {
	t.Parallel()
	data := content(300_000, 9)
	srv := testserver.New(t, data)
	noRanges := testserver.New(t, data, testserver.IgnoreRanges(), testserver.NoAcceptRanges())
	tests := []struct {
		name     string
		file     string
		bytes    []byte
		args     []string
		code     int
		mentionC bool // the message speaks of -c
	}{
		{"shorter without -c", "file.bin", data[:1000], []string{srv.FileURL}, exitExists, true},
		{"as long without -c", "file.bin", data, []string{srv.FileURL}, exitExists, false},
		{"no ranges", "file.bin", data[:1000], []string{"-c", noRanges.FileURL}, exitExists, true},
		{"both PATH and PATH.part", "file.bin", data[:1000], []string{"-c", srv.FileURL}, exitExists, true},
		{"with --restart", "file.bin", data[:1000], []string{"-c", "--restart", srv.FileURL}, exitUsage, false},
		{"with --overwrite", "file.bin", data[:1000], []string{"-c", "--overwrite", srv.FileURL}, exitUsage, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tt.file)
			if err := os.WriteFile(path, tt.bytes, 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.name == "both PATH and PATH.part" {
				if err := os.WriteFile(path+".part", tt.bytes, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := stateOf(t, path)
			stderr, code := run(t, dir, append([]string{"get"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr)
			}
			if got := strings.Contains(stderr, "-c "); got != tt.mentionC {
				t.Errorf("message mentions -c: %v, want %v (%q)", got, tt.mentionC, stderr)
			}
			if after := stateOf(t, path); after != before {
				t.Errorf("%s changed", tt.file)
			}
			mustNotExist(t, path+".info")
		})
	}
}

// TestLonePartMentionsContinue: without -c, a lone .part shorter than the
// remote is not continued, and the notice says that -c would.
func TestLonePartMentionsContinue(t *testing.T) {
	t.Parallel()
	data := content(300_000, 10)
	srv := testserver.New(t, data)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file.bin.part"), data[:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	stderr, code := run(t, dir, "get", srv.FileURL)
	if !strings.Contains(stderr, "-c ") {
		t.Errorf("exit %d, message does not mention -c: %q", code, stderr)
	}
}
