package netfox_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/testserver"
)

// progressLog records OnProgress calls.
type progressLog struct {
	mu    sync.Mutex
	snaps []netfox.Snapshot
}

func (l *progressLog) add(s netfox.Snapshot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.snaps = append(l.snaps, s)
}

func (l *progressLog) all() []netfox.Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]netfox.Snapshot(nil), l.snaps...)
}

// A negative ProgressInterval is the default interval, as zero is: it
// once panicked in a goroutine the library started, where the caller
// could not recover.
func TestNegativeProgressInterval(t *testing.T) {
	content := randomBytes(1<<20, 71)
	srv := testserver.New(t, content)
	var log progressLog
	out := filepath.Join(t.TempDir(), "out")
	res, err := netfox.Download(context.Background(), netfox.Request{
		URL: srv.FileURL, Output: out, OnProgress: log.add, ProgressInterval: -time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	snaps := log.all()
	if len(snaps) == 0 {
		t.Fatal("OnProgress was never called")
	}
	if last := snaps[len(snaps)-1]; last.Written != res.Size || last.Written != int64(len(content)) {
		t.Errorf("last snapshot %d bytes written, want %d", last.Written, len(content))
	}
}

// Client.Stream calls OnProgress as a download does, and its connections
// count against the Client's per-host budget.
func TestClientStreamProgressAndBudget(t *testing.T) {
	content := randomBytes(2<<20, 72)
	srv := testserver.New(t, content, testserver.RatePerResponse(2<<20))
	var watch connWatch
	client := netfox.NewClient(netfox.ClientOptions{MaxConnectionsPerHost: 2, DialContext: watch.dial})
	defer client.Close()
	var log progressLog
	var got bytes.Buffer
	res, err := client.Stream(context.Background(), netfox.Request{
		URL: srv.FileURL, Connections: 8, OnProgress: log.add, ProgressInterval: 50 * time.Millisecond,
	}, &got, 0)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got.Bytes()) != sha256.Sum256(content) || res.Size != int64(len(content)) {
		t.Fatalf("streamed %d bytes (Result.Size %d), want the %d of the file", got.Len(), res.Size, len(content))
	}
	snaps := log.all()
	if len(snaps) < 2 {
		t.Fatalf("OnProgress called %d times over a stream of about a second, want several", len(snaps))
	}
	last := snaps[len(snaps)-1]
	if last.Path != netfox.StreamPath || last.Written != int64(len(content)) {
		t.Errorf("last snapshot: path %q, %d written; want %q, %d", last.Path, last.Written, netfox.StreamPath, len(content))
	}
	watch.mu.Lock()
	defer watch.mu.Unlock()
	if watch.max > 2 {
		t.Errorf("%d connections at once, want at most the Client's 2", watch.max)
	}
	// A Client decides the transport of what it runs.
	_, err = client.Stream(context.Background(), netfox.Request{URL: srv.FileURL, Transport: netfox.TransportOptions{TLS: &tls.Config{}}}, &got, 0)
	if !errors.Is(err, netfox.ErrUsage) {
		t.Errorf("Transport on a Client's stream: got %v, want ErrUsage", err)
	}
}

// A cancelled download's Result tells what it fetched and kept: the next
// run resumes those bytes.
func TestCancelledResultCounts(t *testing.T) {
	content := randomBytes(4<<20, 73)
	srv := testserver.New(t, content, testserver.RatePerResponse(1<<20))
	out := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopAt := int64(512 << 10)
	cancelAt := func(s netfox.Snapshot) {
		if s.Written >= stopAt {
			cancel()
		}
	}
	res, err := netfox.Download(ctx, netfox.Request{URL: srv.FileURL, Output: out, Connections: 4,
		OnProgress: cancelAt, ProgressInterval: 10 * time.Millisecond})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if res.Fetched < stopAt || res.Path != out || res.Elapsed <= 0 {
		t.Fatalf("cancelled Result: fetched %d (want at least %d), path %q, elapsed %v", res.Fetched, stopAt, res.Path, res.Elapsed)
	}
	again, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 4})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	if again.Resumed < stopAt || again.Resumed+again.Fetched < int64(len(content)) {
		t.Errorf("the next run resumed %d and fetched %d of %d", again.Resumed, again.Fetched, len(content))
	}
}
