//go:build unix

package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netfox/netfox/internal/testserver"
	"github.com/netfox/netfox/state"
)

// The cases of issue 26, "Trust nothing on disk or on the wire", each
// through the binary against a server on loopback: every one ends in a
// byte-identical file or in a refusal that changes nothing.

// otherUID is the user that plants files in these tests: nobody. A file
// chowned to it is "another user's" to netfox running as root.
const otherUID = 65534

// needRoot skips a test that makes files of another user, or device
// nodes, when not run as root (CI runs as root; make test too).
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make files of another user (chown) or device nodes; CI runs as root")
	}
}

// result is what a run of netfox left: its stderr and exit code.
type result struct {
	stderr string
	code   int
}

// runLimited runs netfox in dir with extra environment, and fails the
// test when it does not end within limit: the cases where netfox used
// to block forever.
func runLimited(t *testing.T, dir string, env []string, limit time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("netfox %v did not end within %v (stderr %q)", args, limit, errBuf.String())
	}
	var exitErr *exec.ExitError
	res := result{stderr: errBuf.String()}
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.code = exitErr.ExitCode()
	default:
		t.Fatal(err)
	}
	return res
}

// snapshot is what a test checks did not change: type, owner, mode,
// links, size and the bytes of a regular file, the target of a link.
type snapshot struct {
	mode  os.FileMode
	uid   uint32
	nlink uint64
	size  int64
	sum   [32]byte
	link  string
}

func snap(t *testing.T, path string) snapshot {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	s := snapshot{mode: fi.Mode(), uid: st.Uid, nlink: uint64(st.Nlink), size: fi.Size()}
	switch {
	case fi.Mode().IsRegular():
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			t.Fatal(err)
		}
		h.Sum(s.sum[:0])
	case fi.Mode()&os.ModeSymlink != 0:
		s.link, _ = os.Readlink(path)
	}
	return s
}

// unchanged fails when a path differs from its snapshot.
func unchanged(t *testing.T, path string, before snapshot) {
	t.Helper()
	if after := snap(t, path); after != before {
		t.Errorf("%s changed: %+v, was %+v", path, after, before)
	}
}

// versionServer serves data at /f.bin with the validators given, through
// http.ServeContent (so Range and If-Range behave as on a real server),
// and counts its requests.
type versionServer struct {
	*httptest.Server
	url      string
	requests atomic.Int64
}

func serveVersion(t *testing.T, data []byte, etag string, modified time.Time) *versionServer {
	t.Helper()
	vs := &versionServer{}
	vs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vs.requests.Add(1)
		if etag != "" {
			w.Header().Set("ETag", etag)
		}
		http.ServeContent(w, r, "f.bin", modified, bytes.NewReader(data))
	}))
	t.Cleanup(vs.Close)
	vs.url = vs.URL + "/f.bin"
	return vs
}

var someTime = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// Case 1: a device node (a copy of /dev/null), a FIFO or a symbolic link
// at the output path is never replaced, --overwrite or not: exit 7, the
// node left as it is. It used to be replaced by a regular file, exit 0.
func TestTrustNonRegularOutput(t *testing.T) {
	t.Parallel()
	needRoot(t)
	data := content(100_000, 2601)
	srv := testserver.New(t, data)
	for _, kind := range []string{"character device", "fifo", "symlink"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "null")
			target := filepath.Join(dir, "target")
			if err := os.WriteFile(target, []byte("the user's file"), 0o644); err != nil {
				t.Fatal(err)
			}
			var err error
			switch kind {
			case "character device":
				err = unix.Mknod(out, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3)))
			case "fifo":
				err = unix.Mkfifo(out, 0o666)
			case "symlink":
				err = os.Symlink(target, out)
			}
			if err != nil {
				t.Fatal(err)
			}
			before, targetBefore := snap(t, out), snap(t, target)
			for _, extra := range [][]string{{"--overwrite"}, nil} {
				args := append([]string{"get", "-q", "-o", "null"}, extra...)
				res := runLimited(t, dir, nil, 30*time.Second, append(args, srv.FileURL)...)
				if res.code != exitIO {
					t.Fatalf("%v: exit %d, want %d: %s", extra, res.code, exitIO, res.stderr)
				}
				unchanged(t, out, before)
				unchanged(t, target, targetBefore)
				mustNotExist(t, out+".part", out+".info")
			}
		})
	}
}

// infoFor crafts a valid .info for the file served by srv, with every
// byte claimed written: what an attacker plants beside a .part of his.
func infoFor(t *testing.T, path, url string, length int64, etag, lastModified string) {
	t.Helper()
	st := state.State{URL: url, Length: length, ETag: etag, LastModified: lastModified, BootID: state.BootID(),
		Segments: []state.Segment{{Start: 0, Next: length, Synced: length, End: length}}}
	if err := state.Save(path, st, true); err != nil {
		t.Fatal(err)
	}
}

// Case 2: in a sticky directory shared by users, a .part (and a .info)
// planted by another user, or writable by others, or with a second hard
// link, is refused with exit 13 and left as it is; the output is never
// that user's file. It used to become the output, exit 0.
func TestTrustPlantedPartial(t *testing.T) {
	t.Parallel()
	needRoot(t)
	data := content(200_000, 2602)
	srv := testserver.New(t, data)
	etag, lm := srv.Validators()
	attack := content(200_000, 2603)
	sum := "sha256=" + sha256Hex(data)

	tests := []struct {
		name  string
		plant func(t *testing.T, dir string)
	}{
		{"empty .part of another user, mode 0666", func(t *testing.T, dir string) {
			plantFile(t, filepath.Join(dir, "out.bin.part"), nil, 0o666, otherUID)
		}},
		{".part and a valid .info of another user", func(t *testing.T, dir string) {
			plantFile(t, filepath.Join(dir, "out.bin.part"), attack, 0o666, otherUID)
			info := filepath.Join(dir, "out.bin.info")
			infoFor(t, info, srv.FileURL, int64(len(attack)), etag, lm)
			chown(t, info, otherUID)
		}},
		{"a .info of another user beside our .part", func(t *testing.T, dir string) {
			plantFile(t, filepath.Join(dir, "out.bin.part"), attack, 0o644, 0)
			info := filepath.Join(dir, "out.bin.info")
			infoFor(t, info, srv.FileURL, int64(len(attack)), etag, lm)
			chown(t, info, otherUID)
		}},
		{"our .part, writable by others", func(t *testing.T, dir string) {
			plantFile(t, filepath.Join(dir, "out.bin.part"), attack, 0o666, 0)
			infoFor(t, filepath.Join(dir, "out.bin.info"), srv.FileURL, int64(len(attack)), etag, lm)
		}},
		{"our .part, with a second hard link", func(t *testing.T, dir string) {
			part := filepath.Join(dir, "out.bin.part")
			plantFile(t, part, attack, 0o644, 0)
			if err := os.Link(part, filepath.Join(dir, "elsewhere")); err != nil {
				t.Fatal(err)
			}
			infoFor(t, filepath.Join(dir, "out.bin.info"), srv.FileURL, int64(len(attack)), etag, lm)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "shared")
			if err := os.Mkdir(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
				t.Fatal(err)
			}
			tt.plant(t, dir)
			befores := map[string]snapshot{}
			for _, f := range []string{"out.bin.part", "out.bin.info"} {
				if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
					befores[f] = snap(t, filepath.Join(dir, f))
				}
			}
			for _, extra := range [][]string{nil, {"--restart"}} {
				args := append([]string{"get", "-q", "-o", "out.bin", "--checksum", sum}, extra...)
				res := runLimited(t, dir, nil, 60*time.Second, append(args, srv.FileURL)...)
				if res.code != exitForeign {
					t.Fatalf("%v: exit %d, want %d: %s", extra, res.code, exitForeign, res.stderr)
				}
				for f, before := range befores {
					unchanged(t, filepath.Join(dir, f), before)
				}
				mustNotExist(t, filepath.Join(dir, "out.bin"))
			}
		})
	}
}

func plantFile(t *testing.T, path string, data []byte, mode os.FileMode, uid int) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	chown(t, path, uid)
}

func chown(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Lchown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}

// Case 3: a file of the same length and Last-Modified as the remote, but
// downloaded from another address with another ETag, is not "already
// complete": exit 9 and its bytes kept, alone and in a batch. The same
// file downloaded from the same address still is (exit 0, nothing
// fetched).
func TestTrustAlreadyCompleteNeedsOrigin(t *testing.T) {
	// Not parallel: it counts requests, and a probe slowed by parallel tests is hedged.
	a, b := content(150_000, 2604), content(150_000, 2605)
	srvA := serveVersion(t, a, `"a1"`, someTime)
	srvB := serveVersion(t, b, `"b1"`, someTime)
	dir := t.TempDir()
	if res := runLimited(t, dir, nil, time.Minute, "get", "-q", "-o", "f.bin", srvA.url); res.code != 0 {
		t.Fatalf("first download: exit %d: %s", res.code, res.stderr)
	}
	sameFile(t, filepath.Join(dir, "f.bin"), a)
	before := snap(t, filepath.Join(dir, "f.bin"))

	if res := runLimited(t, dir, nil, time.Minute, "get", "-q", "-o", "f.bin", srvB.url); res.code != exitExists {
		t.Errorf("another file of the same length and date: exit %d, want %d: %s", res.code, exitExists, res.stderr)
	}
	list := filepath.Join(dir, "list.txt")
	if err := os.WriteFile(list, []byte(srvB.url+" f.bin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := runLimited(t, dir, nil, time.Minute, "get", "-q", "-i", "list.txt"); res.code != exitExists {
		t.Errorf("in a batch: exit %d, want %d: %s", res.code, exitExists, res.stderr)
	}
	unchanged(t, filepath.Join(dir, "f.bin"), before)

	// The same address: complete, only the probe asked.
	n := srvA.requests.Load()
	if res := runLimited(t, dir, nil, time.Minute, "get", "-q", "-o", "f.bin", srvA.url); res.code != 0 {
		t.Errorf("the same download again: exit %d: %s", res.code, res.stderr)
	}
	if got := srvA.requests.Load() - n; got > 2 {
		t.Errorf("the re-run made %d requests, want the probe's 2", got)
	}
	unchanged(t, filepath.Join(dir, "f.bin"), before)
}

// Case 4: a FIFO where PATH.info, the -n auto cache file or the .part
// under -c should be: netfox does not block in open; it refuses it at
// once (or, for the cache, which is only a hint, reads nothing), and
// SIGINT still ends it with the interrupted code.
func TestTrustFIFOs(t *testing.T) {
	t.Parallel()
	data := content(100_000, 2606)
	srv := testserver.New(t, data)

	t.Run(".info", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "file.bin.part"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		fifo := filepath.Join(dir, "file.bin.info")
		if err := unix.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		before := snap(t, fifo)
		res := runLimited(t, dir, nil, 30*time.Second, "get", "-q", srv.FileURL)
		if res.code != exitBadState {
			t.Errorf("exit %d, want %d: %s", res.code, exitBadState, res.stderr)
		}
		unchanged(t, fifo, before)
	})
	t.Run(".part under -c", func(t *testing.T) {
		dir := t.TempDir()
		fifo := filepath.Join(dir, "file.bin.part")
		if err := unix.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		before := snap(t, fifo)
		res := runLimited(t, dir, nil, 30*time.Second, "get", "-q", "-c", srv.FileURL)
		if res.code != exitIO {
			t.Errorf("exit %d, want %d: %s", res.code, exitIO, res.stderr)
		}
		unchanged(t, fifo, before)
	})
	t.Run("cache file", func(t *testing.T) {
		dir, cache := t.TempDir(), t.TempDir()
		if err := unix.Mkfifo(filepath.Join(cache, "connections.json"), 0o644); err != nil {
			t.Fatal(err)
		}
		res := runLimited(t, dir, []string{"NETFOX_CACHE_DIR=" + cache}, time.Minute, "get", "-q", "-n", "auto", srv.FileURL)
		if res.code != 0 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		sameFile(t, filepath.Join(dir, "file.bin"), data)
	})
	t.Run("SIGINT with a FIFO as the cache file", func(t *testing.T) {
		dir, cache := t.TempDir(), t.TempDir()
		if err := unix.Mkfifo(filepath.Join(cache, "connections.json"), 0o644); err != nil {
			t.Fatal(err)
		}
		// A server that never answers: netfox waits on it, past the
		// cache, when SIGINT comes.
		asked := make(chan struct{}, 16)
		release := make(chan struct{})
		hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			asked <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer hang.Close()
		defer close(release)
		cmd := exec.Command(binary, "get", "-q", "-n", "auto", hang.URL+"/f.bin")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "NETFOX_CACHE_DIR="+cache)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-asked:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatal("netfox never asked the server: it blocked before")
		}
		sent := time.Now()
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatal("SIGINT did not end netfox within 10 s")
		}
		if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
			t.Errorf("exit %d, want %d", code, exitInterrupted)
		}
		t.Logf("ended %v after SIGINT", time.Since(sent).Round(time.Millisecond))
	})
}

// Case 5: a partial download of another address (.part and .info) is
// never destroyed, whether the new address's server serves ranges or not
// or gives no length: exit 6, both left as they were. It used to be
// emptied silently when the new server had no ranges or no length.
func TestTrustForeignPartialKept(t *testing.T) {
	t.Parallel()
	data := content(300_000, 2607)
	other := content(300_000, 2608)
	tests := []struct {
		name string
		opts []testserver.Option
	}{
		{"ranges", nil},
		{"no ranges", []testserver.Option{testserver.IgnoreRanges(), testserver.NoAcceptRanges()}},
		{"no length", []testserver.Option{testserver.NoLength(), testserver.IgnoreRanges(), testserver.NoAcceptRanges()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.New(t, data, tt.opts...)
			dir := t.TempDir()
			part, info := filepath.Join(dir, "out.part"), filepath.Join(dir, "out.info")
			if err := os.WriteFile(part, other[:100_000], 0o644); err != nil {
				t.Fatal(err)
			}
			st := state.State{URL: "http://elsewhere.example/other.iso", Length: int64(len(other)), ETag: `"other"`, BootID: state.BootID(),
				Segments: []state.Segment{{Start: 0, Next: 100_000, Synced: 100_000, End: int64(len(other))}}}
			if err := state.Save(info, st, true); err != nil {
				t.Fatal(err)
			}
			partBefore, infoBefore := snap(t, part), snap(t, info)
			res := runLimited(t, dir, nil, time.Minute, "get", "-q", "-o", "out", srv.FileURL)
			if res.code != exitBadState {
				t.Errorf("exit %d, want %d: %s", res.code, exitBadState, res.stderr)
			}
			unchanged(t, part, partBefore)
			unchanged(t, info, infoBefore)
			mustNotExist(t, filepath.Join(dir, "out"))
			// --restart is what discards it.
			if res := runLimited(t, dir, nil, time.Minute, "get", "-q", "--restart", "-o", "out", srv.FileURL); res.code != 0 {
				t.Fatalf("--restart: exit %d: %s", res.code, res.stderr)
			}
			sameFile(t, filepath.Join(dir, "out"), data)
		})
	}
}

// Case 6: --overwrite with a name the server chose replaces only a file
// netfox downloaded from the same origin; never the -i list being read,
// never another file of the user's (exit 9, kept). A name the user gave
// with -o is replaced as asked.
func TestTrustOverwriteServerName(t *testing.T) {
	t.Parallel()
	data := content(100_000, 2608)
	named := testserver.New(t, data, testserver.Named("list.txt"))
	srv := testserver.New(t, data)

	dir := t.TempDir()
	list := filepath.Join(dir, "list.txt")
	if err := os.WriteFile(list, []byte(named.FileURL+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	listBefore := snap(t, list)
	if res := runLimited(t, dir, nil, time.Minute, "get", "-q", "--overwrite", "-i", "list.txt"); res.code != exitExists {
		t.Errorf("the list as the output: exit %d, want %d: %s", res.code, exitExists, res.stderr)
	}
	unchanged(t, list, listBefore)
	// Nor through its OUTPUT column, the user's own name for it.
	if err := os.WriteFile(list, []byte(srv.FileURL+" list.txt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	listBefore = snap(t, list)
	if res := runLimited(t, dir, nil, time.Minute, "get", "-q", "--overwrite", "-i", "list.txt"); res.code != exitExists {
		t.Errorf("the list named as the output: exit %d, want %d: %s", res.code, exitExists, res.stderr)
	}
	unchanged(t, list, listBefore)

	// A file of the user's under the server's name.
	mine := filepath.Join(dir, "file.bin")
	if err := os.WriteFile(mine, []byte("my notes"), 0o644); err != nil {
		t.Fatal(err)
	}
	mineBefore := snap(t, mine)
	if res := runLimited(t, dir, nil, time.Minute, "get", "-q", "--overwrite", srv.FileURL); res.code != exitExists {
		t.Errorf("the user's file: exit %d, want %d: %s", res.code, exitExists, res.stderr)
	}
	unchanged(t, mine, mineBefore)
	// Named with -o, it is replaced as asked.
	if res := runLimited(t, dir, nil, time.Minute, "get", "-q", "--overwrite", "-o", "file.bin", srv.FileURL); res.code != 0 {
		t.Fatalf("-o with --overwrite: exit %d: %s", res.code, res.stderr)
	}
	sameFile(t, mine, data)
	// Now netfox's download from this origin: --overwrite replaces it.
	if res := runLimited(t, dir, nil, time.Minute, "get", "-q", "--overwrite", srv.FileURL); res.code != 0 {
		t.Errorf("netfox's own file from the same origin: exit %d: %s", res.code, res.stderr)
	}
	sameFile(t, mine, data)
}

// Case 7: -c does not read through a .part that is a symbolic link (to a
// root-only file): exit 7, nothing asked of the server beyond the probe,
// link and target left as they are. It used to tell the server the
// target's size in a Range header.
func TestTrustContinueThroughLink(t *testing.T) {
	t.Parallel()
	data := content(300_000, 2609)
	srv := testserver.New(t, data)
	dir := t.TempDir()
	secretFile := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(secretFile, data[:123_457], 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "file.bin.part")
	if err := os.Symlink(secretFile, link); err != nil {
		t.Fatal(err)
	}
	linkBefore, secretBefore := snap(t, link), snap(t, secretFile)
	res := runLimited(t, dir, nil, time.Minute, "get", "-q", "-c", srv.FileURL)
	if res.code != exitIO {
		t.Errorf("exit %d, want %d: %s", res.code, exitIO, res.stderr)
	}
	unchanged(t, link, linkBefore)
	unchanged(t, secretFile, secretBefore)
	for _, l := range srv.Log() {
		if strings.Contains(l, "123457") || strings.Contains(l, "123456") {
			t.Errorf("the server learnt the target's size: %s", l)
		}
	}
}

// Case 8: an -o name of 240 to 255 bytes is saved (curl and aria2c save
// it); its .part and .info get shortened names and are gone at the end.
func TestTrustLongName(t *testing.T) {
	t.Parallel()
	data := content(300_000, 2610)
	srv := testserver.New(t, data)
	for _, n := range []int{240, 250, 251, 255} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			dir := t.TempDir()
			name := strings.Repeat("n", n-4) + ".bin"
			if res := runLimited(t, dir, nil, time.Minute, "get", "-q", "-n", "4", "-o", name, srv.FileURL); res.code != 0 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			sameFile(t, filepath.Join(dir, name), data)
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("%d files left, want the output alone", len(entries))
			}
		})
	}
}

// Case 9: a server whose 206 answers carry the ETag but not the
// Last-Modified of its 200 (RFC 9110 asks a 206 to repeat only ETag and
// Content-Location) serves the same version: exit 0, byte-identical. It
// used to be "remote file changed", exit 5. Its ranges here are answered
// with the whole file, so the download is the one stream whose 200 is
// compared with the probe's 206.
func TestTrustValidatorOmitted(t *testing.T) {
	t.Parallel()
	data := content(3<<20, 2611) // more than a segment: the probe asks for one byte
	lm := someTime.Format(http.TimeFormat)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"same"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		if r.Header.Get("Range") == "" {
			w.Header().Set("Last-Modified", lm)
			w.WriteHeader(http.StatusOK)
		} else {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", len(data)-1, len(data)))
			w.WriteHeader(http.StatusPartialContent)
		}
		if r.Method == http.MethodGet {
			w.Write(data)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	res := runLimited(t, dir, nil, time.Minute, "get", "-q", "-o", "out", srv.URL+"/f.bin")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	sameFile(t, filepath.Join(dir, "out"), data)
}

// Case 10: disk is reserved only for bytes that arrived: a server that
// claims 1 GiB and sends nothing leaves a .part of no blocks; a length
// no file can have (2^63-1) is refused before anything is made, exit 14.
func TestTrustClaimedLength(t *testing.T) {
	t.Parallel()
	const claimed = 1 << 30
	asked := make(chan struct{}, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"big"`)
		w.Header().Set("Accept-Ranges", "bytes")
		if r.Header.Get("Range") == "bytes=0-0" || r.Method == http.MethodHead {
			if r.Method == http.MethodHead {
				w.Header().Set("Content-Length", strconv.Itoa(claimed))
				return
			}
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-0/%d", claimed))
			w.Header().Set("Content-Length", "1")
			w.WriteHeader(http.StatusPartialContent)
			w.Write([]byte{0})
			return
		}
		var end int64
		if _, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=0-%d", &end); err == nil {
			// The first piece's GET, which is the probe: the claimed
			// length in its headers, and then not a byte.
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", end, claimed))
			w.Header().Set("Content-Length", strconv.FormatInt(end+1, 10))
			w.WriteHeader(http.StatusPartialContent)
			w.(http.Flusher).Flush()
		}
		asked <- struct{}{}
		<-r.Context().Done() // headers (or, for the probe, its body) never come
	}))
	defer srv.Close()
	dir := t.TempDir()
	cmd := exec.Command(binary, "get", "-q", "-n", "8", "-o", "big", srv.URL+"/big")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for range 8 {
		select {
		case <-asked:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatal("netfox did not ask for the 8 ranges (the probe's among them)")
		}
	}
	var st syscall.Stat_t
	err := syscall.Stat(filepath.Join(dir, "big.part"), &st)
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocks*512 > 1<<20 {
		t.Errorf(".part holds %d bytes of disk (size %d) before any byte arrived", st.Blocks*512, st.Size)
	}

	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-0/%d", int64(1<<63-1)))
		w.Header().Set("Content-Length", "1")
		w.WriteHeader(http.StatusPartialContent)
		w.Write([]byte{0})
	}))
	defer huge.Close()
	dir = t.TempDir()
	res := runLimited(t, dir, nil, time.Minute, "get", "-q", "-o", "huge", huge.URL+"/huge")
	if res.code != exitTooLarge {
		t.Errorf("2^63-1 bytes: exit %d, want %d: %s", res.code, exitTooLarge, res.stderr)
	}
	mustNotExist(t, filepath.Join(dir, "huge.part"), filepath.Join(dir, "huge.info"))
}

// Case 11: a response header of 9 MB is refused at once (exit 8, not
// retried); a .info of 1 GB is refused by its size, unread (exit 6, and
// netfox's memory stays far below it).
func TestTrustReadBounds(t *testing.T) {
	// Not parallel: it counts requests, and a probe slowed by parallel tests is hedged.
	var requests atomic.Int64
	big := strings.Repeat("a", 9<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("X-Padding", big)
		w.Write([]byte("x"))
	}))
	defer srv.Close()
	began := time.Now()
	res := runLimited(t, t.TempDir(), nil, time.Minute, "get", "-q", "-n", "64", srv.URL+"/f.bin")
	t.Logf("9 MB header: refused in %v", time.Since(began).Round(time.Millisecond))
	if res.code != exitBadResponse {
		t.Errorf("9 MB header: exit %d, want %d: %s", res.code, exitBadResponse, res.stderr)
	}
	if n := requests.Load(); n > 2 {
		t.Errorf("%d requests, want the HEAD and the GET of the probe, not retried", n)
	}

	data := content(100_000, 2612)
	ok := testserver.New(t, data)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file.bin.part"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	info := filepath.Join(dir, "file.bin.info")
	f, err := os.Create(info)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("netfox-info 1\n")
	if err := f.Truncate(1 << 30); err != nil { // sparse: 1 GB, no disk
		t.Fatal(err)
	}
	f.Close()
	before := snap(t, info)
	// The peak memory is measured by GNU time, whose child is netfox
	// alone: the rusage of a child of the test would count the test's
	// own pages, which the fork copied.
	gnuTime, err := exec.LookPath("/usr/bin/time")
	if err != nil {
		if os.Getenv("NETFOX_REQUIRE_SERVERS") == "1" {
			t.Fatal("/usr/bin/time (Debian package time) is needed to measure netfox's memory")
		}
		t.Log("no /usr/bin/time: the memory is not measured")
	}
	args := []string{"get", "-q", ok.FileURL}
	if gnuTime != "" {
		args = append([]string{"-f", "maxrss=%M", binary}, args...)
	}
	cmd := exec.Command(cmp.Or(gnuTime, binary), args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != exitBadState {
		t.Errorf("1 GB .info: exit %d, want %d: %s", code, exitBadState, stderr.String())
	}
	if gnuTime != "" {
		_, after, _ := strings.Cut(stderr.String(), "maxrss=")
		kib, err := strconv.ParseInt(strings.TrimSpace(after), 10, 64)
		if err != nil {
			t.Fatalf("GNU time said %q", stderr.String())
		}
		if kib > 200<<10 {
			t.Errorf("netfox held %d MiB: it read the .info", kib>>10)
		}
		t.Logf("max RSS %d MiB", kib>>10)
	}
	unchanged(t, info, before)
}

// Case 13: redirects as curl follows them: a chain of 50 is followed; a
// 51st, a loop or a Location that is not http(s) is refused at once, each
// with its own exit code, and not retried.
func TestTrustRedirects(t *testing.T) {
	// Not parallel: it counts requests, and a probe slowed by parallel tests is hedged.
	data := content(100_000, 2613)
	var requests atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.ServeContent(w, r, "file", someTime, bytes.NewReader(data))
	})
	mux.HandleFunc("/chain/{n}", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n == 0 {
			http.Redirect(w, r, "/file", http.StatusFound)
			return
		}
		http.Redirect(w, r, "/chain/"+strconv.Itoa(n-1), http.StatusFound)
	})
	mux.HandleFunc("/loop/a", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Redirect(w, r, "/loop/b", http.StatusFound)
	})
	mux.HandleFunc("/loop/b", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Redirect(w, r, "/loop/a", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/to/{scheme}", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		target := map[string]string{"file": "file:///etc/passwd", "ftp": "ftp://127.0.0.1:1/x", "data": "data:text/plain,hello"}[r.PathValue("scheme")]
		w.Header().Set("Location", target)
		w.WriteHeader(http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		path string
		code int
		most int64 // requests
	}{
		// 49 hops to /chain/0, one to /file: 50 redirects.
		{"/chain/49", exitOK, -1},
		{"/chain/50", exitRedirects, 2 * 52},
		{"/loop/a", exitRedirectLoop, 4},
		{"/to/file", exitRedirectTo, 2},
		{"/to/ftp", exitRedirectTo, 2},
		{"/to/data", exitRedirectTo, 2},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			dir := t.TempDir()
			before := requests.Load()
			res := runLimited(t, dir, nil, time.Minute, "get", "-q", "-o", "out", srv.URL+tt.path)
			if res.code != tt.code {
				t.Fatalf("exit %d, want %d: %s", res.code, tt.code, res.stderr)
			}
			if tt.code == exitOK {
				sameFile(t, filepath.Join(dir, "out"), data)
				return
			}
			if n := requests.Load() - before; n > tt.most {
				t.Errorf("%d requests, want at most %d: refused at once, not retried", n, tt.most)
			}
			mustNotExist(t, filepath.Join(dir, "out"), filepath.Join(dir, "out.part"), filepath.Join(dir, "out.info"))
		})
	}
}
