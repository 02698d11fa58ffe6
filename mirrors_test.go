package netfox_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/testserver"
)

// TestMirrors downloads one file from a fast and a slow mirror: the bytes
// must be right and the faster mirror must have served more of them.
func TestMirrors(t *testing.T) {
	content := randomBytes(8<<20, 90)
	fast := testserver.New(t, content, testserver.RatePerResponse(4<<20))
	slow := testserver.New(t, content, testserver.RatePerResponse(512<<10))
	out := filepath.Join(t.TempDir(), "out")
	res, err := netfox.Download(context.Background(), netfox.Request{URL: slow.FileURL, Mirrors: []string{fast.FileURL}, Output: out, Connections: 4})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	if len(res.Sources) != 2 || res.Sources[0].Fetched+res.Sources[1].Fetched != int64(len(content)) {
		t.Fatalf("sources %+v", res.Sources)
	}
	if res.Sources[1].Fetched <= 2*res.Sources[0].Fetched {
		t.Errorf("fast mirror served %d bytes, slow %d: want the fast one well ahead", res.Sources[1].Fetched, res.Sources[0].Fetched)
	}
	t.Logf("slow mirror %d bytes, fast mirror %d bytes", res.Sources[0].Fetched, res.Sources[1].Fetched)
}

// TestMirrorGoesDown: a mirror that stops answering midway is dropped and
// the download completes from the other.
func TestMirrorGoesDown(t *testing.T) {
	content := randomBytes(4<<20, 94)
	good := testserver.New(t, content, testserver.RatePerResponse(1<<20))
	dying := testserver.New(t, content, testserver.RatePerResponse(1<<20))
	out := filepath.Join(t.TempDir(), "out")
	var got notices
	progress := new(latest)
	done := make(chan struct{})
	var res netfox.Result
	var err error
	go func() {
		defer close(done)
		res, err = netfox.Download(context.Background(), progress.watch(netfox.Request{URL: good.FileURL, Mirrors: []string{dying.FileURL}, Output: out, Connections: 4,
			RetryWait: 1, OnEvent: got.add}))
	}()
	waitFor(t, func() bool { return progress.Snapshot().Written >= 1<<20 })
	// Stop accepting first, then cut the connections: a retry must find
	// the mirror gone, not reconnect in between (httptest's Close lets
	// requests it has accepted run to their end).
	dying.Listener.Close()
	dying.CloseClientConnections()
	<-done
	dying.Close()
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	if res.Sources[1].Dropped == "" || !got.has(netfox.EventMirrorDropped) {
		t.Errorf("mirror not dropped: %+v, notices %v", res.Sources, got.msgs)
	}
}

// TestMirrorKeepsFailing: a mirror that cuts every connection is dropped
// even though each try makes a little progress.
func TestMirrorKeepsFailing(t *testing.T) {
	content := randomBytes(4<<20, 91)
	good := testserver.New(t, content, testserver.RatePerResponse(2<<20))
	dying := testserver.New(t, content, testserver.RatePerResponse(2<<20), testserver.CutAfter(100_000, 1000))
	out := filepath.Join(t.TempDir(), "out")
	var got notices
	res, err := netfox.Download(context.Background(), netfox.Request{URL: good.FileURL, Mirrors: []string{dying.FileURL}, Output: out, Connections: 4,
		RetryWait: 1, OnEvent: got.add})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	if !got.has(netfox.EventMirrorDropped) || res.Sources[1].Dropped == "" || res.Sources[0].Dropped != "" {
		t.Errorf("dying mirror not dropped: %+v, notices %v", res.Sources, got.msgs)
	}
}

func TestMirrorsOfDifferentLength(t *testing.T) {
	a := testserver.New(t, randomBytes(1000, 92))
	b := testserver.New(t, randomBytes(1001, 93))
	_, err := netfox.Download(context.Background(), netfox.Request{URL: a.FileURL, Mirrors: []string{b.FileURL}, Output: filepath.Join(t.TempDir(), "out")})
	if !errors.Is(err, netfox.ErrMirrorMismatch) {
		t.Fatalf("got %v, want ErrMirrorMismatch", err)
	}
}

// A download with a mirror shows each address in its snapshots: URL
// first, each with its share of the bytes, the shares adding up to what
// was fetched.
func TestSnapshotSources(t *testing.T) {
	content := randomBytes(4<<20, 37)
	a := testserver.New(t, content, testserver.RatePerResponse(1<<20))
	b := testserver.New(t, content, testserver.RatePerResponse(1<<20))
	var mu sync.Mutex
	var withSources []netfox.Snapshot
	out := filepath.Join(t.TempDir(), "out")
	_, err := netfox.Download(context.Background(), netfox.Request{URL: a.FileURL, Mirrors: []string{b.FileURL}, Output: out, Connections: 4, MinSplit: 256 << 10,
		ProgressInterval: 20 * time.Millisecond, OnProgress: func(s netfox.Snapshot) {
			if len(s.Sources) > 0 {
				mu.Lock()
				withSources = append(withSources, s)
				mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	if len(withSources) == 0 {
		t.Fatal("no snapshot named the sources")
	}
	last := withSources[len(withSources)-1]
	if len(last.Sources) != 2 || last.Sources[0].URL != a.FileURL || last.Sources[1].URL != b.FileURL {
		t.Fatalf("sources %+v, want %s then %s", last.Sources, a.FileURL, b.FileURL)
	}
	var sum int64
	for _, s := range last.Sources {
		if s.Fetched <= 0 || s.Dropped {
			t.Errorf("source %s: %d bytes, dropped %v; want a share of the work", s.URL, s.Fetched, s.Dropped)
		}
		sum += s.Fetched
	}
	if sum != last.Fetched {
		t.Errorf("the sources' shares add up to %d, the download fetched %d", sum, last.Fetched)
	}
}
