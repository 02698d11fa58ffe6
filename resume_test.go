package netfox_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/testserver"
	"github.com/netfox/netfox/state"
)

// interrupted leaves a partial download of srv's file at out: it runs a
// throttled download until at least minWritten bytes are written, then
// cancels it.
func interrupted(t *testing.T, url, out string, minWritten int64) {
	t.Helper()
	progress := new(latest)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := netfox.Download(ctx, progress.watch(netfox.Request{URL: url, Output: out, Connections: 4}))
		done <- err
	}()
	waitFor(t, func() bool { return progress.Snapshot().Written >= minWritten })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted download returned %v", err)
	}
}

func TestResumeRemoteChangedBetweenRuns(t *testing.T) {
	old, updated := randomBytes(2<<20, 10), randomBytes(2<<20, 11)
	srv := testserver.New(t, old, testserver.RatePerResponse(1<<20))
	out := filepath.Join(t.TempDir(), "out")
	interrupted(t, srv.FileURL, out, 256<<10)

	srv.Change(updated) // same length, new ETag
	var got notices
	res, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 4, OnEvent: got.add})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, updated)
	if res.Resumed != 0 {
		t.Errorf("resumed %d bytes of the old version", res.Resumed)
	}
	if !got.has(netfox.EventRemoteChanged) {
		t.Errorf("no notice of the change; got %v", got.msgs)
	}
}

func TestResumeWithoutStrongValidators(t *testing.T) {
	content := randomBytes(2<<20, 12)
	tests := []struct {
		name    string
		opt     testserver.Option
		resumed bool
		notice  netfox.EventKind
	}{
		// Last-Modified still pins the version: resume.
		{"weak ETag", testserver.WeakETag(), true, 0},
		// Nothing pins the version: start over rather than risk a mix.
		{"no validators", testserver.NoValidators(), false, netfox.EventUnverifiable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.New(t, content, tt.opt, testserver.RatePerResponse(1<<20))
			out := filepath.Join(t.TempDir(), "out")
			interrupted(t, srv.FileURL, out, 256<<10)
			var got notices
			res, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, OnEvent: got.add})
			if err != nil {
				t.Fatal(err)
			}
			assertFile(t, out, content)
			if (res.Resumed > 0) != tt.resumed {
				t.Errorf("resumed %d bytes; want resume: %v", res.Resumed, tt.resumed)
			}
			if tt.notice != 0 && !got.has(tt.notice) {
				t.Errorf("no %v notice; got %v", tt.notice, got.msgs)
			}
		})
	}
}

func TestRemoteChangesDuringDownload(t *testing.T) {
	old, updated := randomBytes(1<<20, 20), randomBytes(1<<20, 21)
	t.Run("once: start over and finish the new version", func(t *testing.T) {
		srv := testserver.New(t, old, testserver.ChangeAfter(2, updated))
		out := filepath.Join(t.TempDir(), "out")
		var got notices
		_, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 4, MinSplit: 64 << 10, OnEvent: got.add})
		if err != nil {
			t.Fatal(err)
		}
		assertFile(t, out, updated)
		if !got.has(netfox.EventRemoteChangedMidway) {
			t.Errorf("no notice; got %v", got.msgs)
		}
	})
	t.Run("keeps changing: ErrRemoteChanged, partial kept", func(t *testing.T) {
		srv := testserver.New(t, old, testserver.ChangeEvery(2, updated, old))
		out := filepath.Join(t.TempDir(), "out")
		_, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 4, MinSplit: 64 << 10})
		if !errors.Is(err, netfox.ErrRemoteChanged) {
			t.Fatalf("got %v, want ErrRemoteChanged", err)
		}
		if _, err := os.Stat(out + ".info"); err != nil {
			t.Errorf("no .info kept: %v", err)
		}
	})
}

func TestBadLocalState(t *testing.T) {
	content := randomBytes(1<<20, 30)
	srv := testserver.New(t, content)
	other := testserver.New(t, content)

	valid := func(t *testing.T, out string) {
		// A complete, valid partial download to damage.
		etag, lastModified := srv.Validators()
		s := state.State{URL: srv.FileURL, Length: int64(len(content)), ETag: etag, LastModified: lastModified,
			Segments: []state.Segment{{Start: 0, Synced: 100, Next: 100, End: int64(len(content))}}}
		if err := state.Save(out+".info", s, false); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out+".part", make([]byte, len(content)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		damage  func(t *testing.T, out string)
		want    error
		message string
	}{
		{"garbage .info", func(t *testing.T, out string) {
			valid(t, out)
			os.WriteFile(out+".info", []byte("hello\n"), 0o644)
		}, netfox.ErrBadState, "not a netfox control file"},
		{"truncated .info", func(t *testing.T, out string) {
			valid(t, out)
			b, _ := os.ReadFile(out + ".info")
			os.WriteFile(out+".info", b[:len(b)-5], 0o644)
		}, netfox.ErrBadState, "damaged"},
		{"future version", func(t *testing.T, out string) {
			valid(t, out)
			b, _ := os.ReadFile(out + ".info")
			os.WriteFile(out+".info", []byte(strings.Replace(string(b), "netfox-info 1", "netfox-info 9", 1)), 0o644)
		}, netfox.ErrBadState, "unknown format version"},
		{".info of another URL", func(t *testing.T, out string) {
			valid(t, out)
			s := state.State{URL: other.FileURL, Length: int64(len(content)), Segments: []state.Segment{{End: int64(len(content))}}}
			state.Save(out+".info", s, false)
		}, netfox.ErrBadState, "belongs to a download of"},
		{".part shorter than .info says", func(t *testing.T, out string) {
			valid(t, out)
			os.Truncate(out+".part", 10)
		}, netfox.ErrBadState, "has 10 bytes but"},
		{".info without .part", func(t *testing.T, out string) {
			valid(t, out)
			os.Remove(out + ".part")
		}, netfox.ErrBadState, ".part is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			tt.damage(t, out)
			infoBefore, _ := os.ReadFile(out + ".info")
			_, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out})
			// The library describes the state; the CLI adds its flags.
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.message) || strings.Contains(err.Error(), "--") {
				t.Fatalf("got %v; want %v mentioning %q and no CLI flag", err, tt.want, tt.message)
			}
			if infoAfter, _ := os.ReadFile(out + ".info"); string(infoAfter) != string(infoBefore) {
				t.Error("the failed run changed the .info")
			}
			// --restart is the way out.
			if _, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Restart: true}); err != nil {
				t.Fatal(err)
			}
			assertFile(t, out, content)
		})
	}
}

// A .part without a .info may be another program's partial file: it is
// left as it is, with ErrLonePart, and --restart discards it.
func TestPartWithoutInfoIsLeftAlone(t *testing.T) {
	content := randomBytes(100_000, 31)
	for _, tt := range []struct {
		name string
		opts []testserver.Option
	}{
		{"ranges", nil},
		{"one stream", []testserver.Option{testserver.NoAcceptRanges(), testserver.IgnoreRanges()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.New(t, content, tt.opts...)
			out := filepath.Join(t.TempDir(), "out")
			theirs := []byte(strings.Repeat("x", 200_000))
			os.WriteFile(out+".part", theirs, 0o644)
			_, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out})
			if !errors.Is(err, netfox.ErrLonePart) || strings.Contains(err.Error(), "--") || strings.Contains(err.Error(), " -o") {
				t.Fatalf("got %v, want ErrLonePart, without CLI flags", err)
			}
			assertFile(t, out+".part", theirs)
			if _, err := os.Lstat(out + ".info"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a .info appeared beside the lone .part: %v", err)
			}
			if _, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Restart: true}); err != nil {
				t.Fatal(err)
			}
			assertFile(t, out, content)
		})
	}
}

// An empty .part without a .info is what a run leaves that stopped right
// after creating it: taken over without a word.
func TestEmptyPartWithoutInfoIsTakenOver(t *testing.T) {
	content := randomBytes(100_000, 33)
	srv := testserver.New(t, content)
	out := filepath.Join(t.TempDir(), "out")
	os.WriteFile(out+".part", nil, 0o644)
	if _, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
}

func TestExistingOutput(t *testing.T) {
	content := randomBytes(1000, 32)
	srv := testserver.New(t, content)
	out := filepath.Join(t.TempDir(), "out")
	os.WriteFile(out, []byte("precious"), 0o644)
	_, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out})
	if !errors.Is(err, netfox.ErrExists) || strings.Contains(err.Error(), "--") {
		t.Fatalf("got %v, want ErrExists, without CLI flags", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "precious" {
		t.Fatal("existing file changed")
	}
	if _, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)

	dir := t.TempDir()
	_, err = netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: dir})
	if !errors.Is(err, netfox.ErrIO) || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("output is a directory: got %v", err)
	}
}

func TestSecondRunRefusedWhileFirstRuns(t *testing.T) {
	content := randomBytes(2<<20, 33)
	srv := testserver.New(t, content, testserver.RatePerResponse(1<<20))
	out := filepath.Join(t.TempDir(), "out")
	progress := new(latest)
	first := make(chan error, 1)
	go func() {
		_, err := netfox.Download(context.Background(), progress.watch(netfox.Request{URL: srv.FileURL, Output: out, Connections: 4}))
		first <- err
	}()
	waitFor(t, func() bool { return progress.Snapshot().Written > 0 })
	_, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out})
	if !errors.Is(err, netfox.ErrBusy) {
		t.Fatalf("second run: got %v, want ErrBusy", err)
	}
	if err := <-first; err != nil {
		t.Fatalf("first run disturbed: %v", err)
	}
	assertFile(t, out, content)
}

func TestServerErrors(t *testing.T) {
	content := randomBytes(1<<20, 40)
	tests := []struct {
		name string
		opts []testserver.Option
		path string
		want func(error) bool
	}{
		{"404", nil, "/missing", func(err error) bool {
			var se *netfox.StatusError
			return errors.As(err, &se) && se.Code == http.StatusNotFound
		}},
		{"Content-Length contradicting Content-Range", []testserver.Option{testserver.WrongContentLength()}, "", func(err error) bool { return errors.Is(err, netfox.ErrBadResponse) }},
		{"gzip to a range", []testserver.Option{testserver.GzipRanges()}, "", func(err error) bool { return errors.Is(err, netfox.ErrBadResponse) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.New(t, content, tt.opts...)
			url := srv.FileURL
			if tt.path != "" {
				url = srv.URL + tt.path
			}
			out := filepath.Join(t.TempDir(), "out")
			_, err := netfox.Download(context.Background(), netfox.Request{URL: url, Output: out, Connections: 4})
			if err == nil || !tt.want(err) {
				t.Fatalf("got %v", err)
			}
			if _, statErr := os.Stat(out); !errors.Is(statErr, os.ErrNotExist) {
				t.Errorf("a failed download left %s", out)
			}
		})
	}
}

func TestTransientFaultsAreRetried(t *testing.T) {
	content := randomBytes(1<<20, 41)
	tests := []struct {
		name string
		opts []testserver.Option
	}{
		{"cut connections", []testserver.Option{testserver.CutAfter(100_000, 6)}},
		{"503 with Retry-After", []testserver.Option{testserver.Status(http.StatusServiceUnavailable, 3, "0")}},
		{"429 with Retry-After", []testserver.Option{testserver.Status(http.StatusTooManyRequests, 2, "0")}},
		{"503 to the probe", []testserver.Option{testserver.HeadStatus(http.StatusServiceUnavailable), testserver.Status(http.StatusServiceUnavailable, 2, "0")}},
		{"stalled connections", []testserver.Option{testserver.StallAfter(50_000, 4)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.New(t, content, tt.opts...)
			out := filepath.Join(t.TempDir(), "out")
			var got notices
			res, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 4, OnEvent: got.add,
				StallWindow: 200 * time.Millisecond, RetryWait: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			assertFile(t, out, content)
			// A 429 or 503 may instead retire the connection it hit: the
			// server asked for fewer.
			if !got.has(netfox.EventRetry, netfox.EventOverloaded) {
				t.Errorf("no retry notice; got %v", got.msgs)
			}
			if res.Fetched != int64(len(content)) {
				t.Errorf("fetched %d bytes for a %d-byte file: retries restarted from the segment start", res.Fetched, len(content))
			}
		})
	}
}

// TestResumeAfterReboot resumes from a .info written on another boot: only
// the synced offsets may be trusted, since the bytes between synced and
// next may never have reached the disk. The test puts garbage there; a
// resume that trusted next would keep it.
func TestResumeAfterReboot(t *testing.T) {
	content := randomBytes(1<<20, 50)
	srv := testserver.New(t, content)
	out := filepath.Join(t.TempDir(), "out")
	etag, lastModified := srv.Validators()
	half := int64(len(content) / 2)
	saved := state.State{
		URL: srv.FileURL, Length: int64(len(content)), ETag: etag, LastModified: lastModified,
		BootID: "a-boot-before-the-power-loss",
		Segments: []state.Segment{
			{Start: 0, Synced: 1000, Next: 200_000, End: half},
			{Start: half, Synced: half + 5000, Next: half + 100_000, End: int64(len(content))},
		},
	}
	if err := state.Save(out+".info", saved, true); err != nil {
		t.Fatal(err)
	}
	part := make([]byte, len(content))
	copy(part[:1000], content[:1000])
	copy(part[half:half+5000], content[half:half+5000])
	for i := 1000; i < 200_000; i++ {
		part[i] = 0xAA // "written" before the power loss, but lost
	}
	if err := os.WriteFile(out+".part", part, 0o644); err != nil {
		t.Fatal(err)
	}
	var got notices
	res, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, OnEvent: got.add})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	if res.Resumed != 6000 {
		t.Errorf("resumed %d bytes, want the 6000 synced ones", res.Resumed)
	}
	if !got.has(netfox.EventRebooted) {
		t.Errorf("no notice of the reboot; got %v", got.msgs)
	}
}
