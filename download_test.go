package netfox_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/nginxtest"
	"github.com/netfox/netfox/internal/testserver"
	"github.com/netfox/netfox/state"
)

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n - n%8; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// assertFile checks that path holds exactly want, by sha256, and that no
// .part or .info is left beside it.
func assertFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(want) {
		t.Fatalf("%s: %d bytes with sha256 %x, want %d bytes with sha256 %x", path, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
	}
	for _, suffix := range []string{".part", ".info"} {
		if _, err := os.Stat(path + suffix); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s%s left behind after success (stat: %v)", path, suffix, err)
		}
	}
}

// notices collects the notices of a download (Request.OnEvent).
type notices struct {
	mu   sync.Mutex
	msgs []netfox.Event
}

func (n *notices) add(m netfox.Event) { n.mu.Lock(); n.msgs = append(n.msgs, m); n.mu.Unlock() }

// has reports whether a notice of one of kinds came.
func (n *notices) has(kinds ...netfox.EventKind) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range n.msgs {
		if slices.Contains(kinds, m.Kind) {
			return true
		}
	}
	return false
}

func TestDownloadSizesAndConnections(t *testing.T) {
	for _, n := range []int{1, 2, 8, 32} {
		for _, size := range []int{0, 1, n - 1, n + 1, 1<<20 + 7} {
			if size < 0 || (n == 1 && size == 0 && false) {
				continue
			}
			t.Run(fmt.Sprintf("n=%d/size=%d", n, size), func(t *testing.T) {
				t.Parallel()
				content := randomBytes(size, uint64(size*31+n))
				srv := testserver.New(t, content)
				out := filepath.Join(t.TempDir(), "out.bin")
				res, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: n, MinSplit: 64 << 10})
				if err != nil {
					t.Fatal(err)
				}
				assertFile(t, out, content)
				if res.Size != int64(size) || res.Fetched != int64(size) {
					t.Errorf("result size %d fetched %d, want %d", res.Size, res.Fetched, size)
				}
			})
		}
	}
}

func TestDownload64MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB download in -short mode")
	}
	content := randomBytes(64<<20, 64)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	servers := map[string]string{}
	servers["httptest"] = testserver.New(t, content, testserver.Named("big.bin")).FileURL
	if nginxtest.Binary() != "" {
		servers["nginx"] = nginxtest.Start(t, nginxtest.Options{Root: dir}).URL + "/big.bin"
	} else {
		t.Log("nginx not installed (apt-get install nginx-light): testing against httptest only")
	}
	for name, url := range servers {
		for _, n := range []int{1, 8, 32} {
			t.Run(fmt.Sprintf("%s/n=%d", name, n), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "big.bin")
				if _, err := netfox.Download(context.Background(), netfox.Request{URL: url, Output: out, Connections: n}); err != nil {
					t.Fatal(err)
				}
				assertFile(t, out, content)
			})
		}
	}
}

func TestDownloadNginxSizes(t *testing.T) {
	dir := t.TempDir()
	srv := nginxtest.Start(t, nginxtest.Options{Root: dir})
	for _, n := range []int{1, 2, 8, 32} {
		for _, size := range []int{0, 1, n - 1, n + 1} {
			name := fmt.Sprintf("f-%d-%d", n, size)
			content := randomBytes(size, uint64(size+n))
			if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Run(name, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "out")
				if _, err := netfox.Download(context.Background(), netfox.Request{URL: srv.URL + "/" + name, Output: out, Connections: n}); err != nil {
					t.Fatal(err)
				}
				assertFile(t, out, content)
			})
		}
	}
}

func TestOutputNameFromServer(t *testing.T) {
	content := randomBytes(1000, 1)
	tests := []struct {
		name, disposition, path, want string
	}{
		{"url path", "", "report%20final.pdf", "report final.pdf"},
		{"content-disposition", `attachment; filename="from-header.iso"`, "x", "from-header.iso"},
		{"hostile disposition", `attachment; filename="../../escape.txt"`, "x", "escape.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []testserver.Option
			opts = append(opts, testserver.Named(strings.ReplaceAll(tt.path, "%20", " ")))
			if tt.disposition != "" {
				opts = append(opts, testserver.ContentDisposition(tt.disposition))
			}
			srv := testserver.New(t, content, opts...)
			dir := t.TempDir()
			res, err := netfox.Download(context.Background(), netfox.Request{URL: srv.URL + "/" + tt.path, Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(dir, tt.want); res.Path != want {
				t.Fatalf("saved to %q, want %q", res.Path, want)
			}
			assertFile(t, res.Path, content)
		})
	}
}

// TestNoRangesNoLength: servers that mishandle ranges or lengths. The
// file is split (MinSplit below its size), so the probe asks for its
// first byte, which shows them.
func TestNoRangesNoLength(t *testing.T) {
	content := randomBytes(300_000, 2)
	tests := []struct {
		name   string
		opts   []testserver.Option
		notice netfox.EventKind // zero: none expected but a fallback
		stream bool             // whether the download must fall back to one stream
	}{
		{"ignores ranges", []testserver.Option{testserver.IgnoreRanges()}, 0, true},
		{"no length", []testserver.Option{testserver.NoLength()}, netfox.EventNoLength, true},
		{"no Accept-Ranges but ranges work", []testserver.Option{testserver.NoAcceptRanges()}, 0, false},
		{"HEAD refused", []testserver.Option{testserver.HeadStatus(http.StatusMethodNotAllowed)}, 0, false},
		{"labels ranges past the one asked", []testserver.Option{testserver.LieContentRange(1)}, 0, true},
		{"answers every range with the whole file", []testserver.Option{testserver.WholeAs206()}, 0, true},
		{"widens ranges", []testserver.Option{testserver.AlignRanges(64 << 10)}, 0, false},
		// No HEAD is sent (the first GET decides), so a lying one is
		// never heard.
		{"HEAD says 0 bytes", []testserver.Option{testserver.HeadLength(0)}, 0, false},
		{"HEAD says 1000 bytes, no validators", []testserver.Option{testserver.HeadLength(1000), testserver.NoValidators()}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.New(t, content, tt.opts...)
			out := filepath.Join(t.TempDir(), "out")
			var got notices
			if _, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 4, MinSplit: 64 << 10, OnEvent: got.add}); err != nil {
				t.Fatal(err)
			}
			assertFile(t, out, content)
			if tt.notice != 0 && !got.has(tt.notice) {
				t.Errorf("no %v notice; got %v", tt.notice, got.msgs)
			}
			if got.has(netfox.EventHeadContradicted) && tt.notice != netfox.EventHeadContradicted {
				t.Errorf("a HEAD that told the truth was said to be contradicted: %v", got.msgs)
			}
			if got.has(netfox.EventRangesIgnored, netfox.EventNoRanges, netfox.EventNoLength) != tt.stream {
				t.Errorf("fell back to one stream: %v, want %v (notices %v)", !tt.stream, tt.stream, got.msgs)
			}
		})
	}
}

// TestResumeAfterCancel interrupts a throttled download and resumes it:
// the second run must fetch only what the first did not write.
func TestResumeAfterCancel(t *testing.T) {
	content := randomBytes(4<<20, 3)
	srv := testserver.New(t, content, testserver.RatePerResponse(1<<20))
	out := filepath.Join(t.TempDir(), "out")
	progress := new(latest)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := netfox.Download(ctx, progress.watch(netfox.Request{URL: srv.FileURL, Output: out, Connections: 4}))
		done <- err
	}()
	waitFor(t, func() bool { return progress.Snapshot().Written >= 1<<20 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted download returned %v, want context.Canceled", err)
	}
	saved, err := state.Load(out + ".info")
	if err != nil {
		t.Fatalf("no usable .info after cancel: %v", err)
	}
	written := saved.Written(state.BootID())
	if written < 1<<20 {
		t.Fatalf(".info claims %d bytes, want at least 1 MiB", written)
	}
	// Every byte the .info claims is already in the .part.
	part, err := os.ReadFile(out + ".part")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range saved.Resumable(state.BootID()) {
		if !bytes.Equal(part[s.Start:s.Next], content[s.Start:s.Next]) {
			t.Fatalf("segment %+v: .part differs from the source within the claimed bytes", s)
		}
	}

	res, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 4})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	if res.Resumed != written || res.Fetched != int64(len(content))-written {
		t.Errorf("resumed %d fetched %d; want resumed %d fetched %d", res.Resumed, res.Fetched, written, int64(len(content))-written)
	}
	// The first run's first request, "bytes=0-" and the first piece's
	// end, is the probe: it names the version, so it has nothing to
	// check. It is logged when its response ends, which may be after
	// the second run's first requests.
	probes := 0
	for _, line := range srv.Log() {
		if strings.HasPrefix(line, fmt.Sprintf(`GET range="bytes=0-%d" if-range=""`, netfox.DefaultMinSplit-1)) && probes == 0 {
			probes++
			continue
		}
		// A resumed run's probe sends a GET of the first byte to learn the
		// validators; every range after it is pinned by them.
		if strings.HasPrefix(line, "GET") && !strings.Contains(line, `range="bytes=0-0"`) && !strings.Contains(line, `if-range="\"`) {
			t.Errorf("range request without If-Range: %s", line)
		}
	}
}

// waitFor polls cond, which watches a download's progress, for up to 10 s:
// the download offers no event to wait on, and progress is what the test
// is about.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 2000 {
		if cond() {
			return
		}
		sleepBriefly()
	}
	t.Fatal("condition not met within 10 s")
}

// TestSmallFileOddServers: a file of one segment is asked for whole by
// the probe's GET; servers that mishandle ranges or HEAD still give the
// right bytes.
func TestSmallFileOddServers(t *testing.T) {
	content := randomBytes(300_000, 3)
	for name, opt := range map[string]testserver.Option{
		"labels ranges past the one asked":        testserver.LieContentRange(1),
		"answers every range with the whole file": testserver.WholeAs206(),
		"ignores ranges":                          testserver.IgnoreRanges(),
		"HEAD says 1000 bytes":                    testserver.HeadLength(1000),
		"HEAD says 0 bytes":                       testserver.HeadLength(0),
		"HEAD refused":                            testserver.HeadStatus(http.StatusMethodNotAllowed),
		"stored gzip":                             testserver.GzipRanges(),
	} {
		t.Run(name, func(t *testing.T) {
			srv := testserver.New(t, content, opt)
			out := filepath.Join(t.TempDir(), "out")
			_, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 4})
			if name == "stored gzip" {
				// Labelled on ranges only: a proxy's coding, refused.
				if !errors.Is(err, netfox.ErrBadResponse) {
					t.Fatalf("err %v, want ErrBadResponse", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			assertFile(t, out, content)
		})
	}
}
