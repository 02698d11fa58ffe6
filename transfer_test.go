package netfox_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/testserver"
)

// readCounter counts the bytes a Client reads from each remote address.
type readCounter struct {
	mu   sync.Mutex
	read map[string]*atomic.Int64
}

func (rc *readCounter) of(addr string) *atomic.Int64 {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.read == nil {
		rc.read = map[string]*atomic.Int64{}
	}
	n, ok := rc.read[addr]
	if !ok {
		n = new(atomic.Int64)
		rc.read[addr] = n
	}
	return n
}

func (rc *readCounter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return countingConn{conn, rc.of(addr)}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func hostOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// The handles, as a program drives them: two transfers on one Client;
// one is paused and no byte of it arrives while the other, its rate
// raised meanwhile, runs to the end; the first resumes from where it
// stood; both files are byte-identical.
func TestTransfersPauseResumeRate(t *testing.T) {
	contentA, contentB := randomBytes(8<<20, 81), randomBytes(4<<20, 82)
	srvA, srvB := testserver.New(t, contentA), testserver.New(t, contentB)
	var reads readCounter
	c := netfox.NewClient(netfox.ClientOptions{DialContext: reads.dial})
	defer c.Close()
	dir := t.TempDir()
	outA, outB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	ctx := context.Background()

	a, err := c.Start(ctx, netfox.Request{URL: srvA.FileURL, Output: outA, Connections: 4, LimitRate: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Start(ctx, netfox.Request{URL: srvB.FileURL, Output: outB, Connections: 4, LimitRate: 128 << 10})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return a.Snapshot().Written >= 1<<20 })
	if err := a.Pause(); err != nil {
		t.Fatal(err)
	}
	readA := reads.of(hostOf(t, srvA.FileURL))
	atPause, snap := readA.Load(), a.Snapshot()
	if snap.Rate != 0 || snap.Connections != 0 || snap.Written < 1<<20 || snap.Written >= int64(len(contentA)) {
		t.Fatalf("paused snapshot: rate %v, %d connections, %d of %d bytes written", snap.Rate, snap.Connections, snap.Written, len(contentA))
	}
	if _, err := os.Stat(outA + ".part"); err != nil {
		t.Fatalf("paused transfer's .part: %v", err)
	}

	// At 128 KiB/s b would take 32 s; with its cap lifted it ends at
	// once, while a stays paused.
	b.SetLimitRate(0)
	select {
	case <-b.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("b still running 20 s after its cap was lifted")
	}
	if _, err := b.Wait(); err != nil {
		t.Fatal(err)
	}
	assertFile(t, outB, contentB)
	if n := readA.Load(); n != atPause {
		t.Fatalf("%d bytes arrived from a's server while it was paused", n-atPause)
	}
	if got := a.Snapshot().Written; got != snap.Written {
		t.Fatalf("a's written bytes moved from %d to %d while paused", snap.Written, got)
	}

	a.SetLimitRate(0)
	if err := a.Resume(); err != nil {
		t.Fatal(err)
	}
	res, err := a.Wait()
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, outA, contentA)
	if res.Resumed < snap.Written {
		t.Errorf("a resumed %d bytes, want at least the %d written before the pause", res.Resumed, snap.Written)
	}
	if err := a.Pause(); !errors.Is(err, netfox.ErrEnded) {
		t.Errorf("Pause after the end: %v, want ErrEnded", err)
	}
	if err := a.Resume(); !errors.Is(err, netfox.ErrEnded) {
		t.Errorf("Resume after the end: %v, want ErrEnded", err)
	}
}

// Client.SetLimitRate changes the shared cap of the running downloads.
func TestClientSetLimitRate(t *testing.T) {
	content := randomBytes(4<<20, 83)
	srv := testserver.New(t, content)
	c := netfox.NewClient(netfox.ClientOptions{LimitRate: 128 << 10})
	defer c.Close()
	out := filepath.Join(t.TempDir(), "out")
	tr, err := c.Start(context.Background(), netfox.Request{URL: srv.FileURL, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return tr.Snapshot().Written > 0 })
	c.SetLimitRate(0) // at 128 KiB/s the file would take 32 s
	select {
	case <-tr.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("still running 20 s after the Client's cap was lifted")
	}
	if _, err := tr.Wait(); err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
}

// Cancel ends a transfer, paused or running, keeping its partial file;
// Wait reports context.Canceled with what was saved.
func TestTransferCancel(t *testing.T) {
	content := randomBytes(4<<20, 84)
	srv := testserver.New(t, content)
	c := netfox.NewClient(netfox.ClientOptions{})
	defer c.Close()
	dir := t.TempDir()
	for _, pauseFirst := range []bool{false, true} {
		out := filepath.Join(dir, map[bool]string{false: "running", true: "paused"}[pauseFirst])
		tr, err := c.Start(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, LimitRate: 512 << 10})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return tr.Snapshot().Written >= 256<<10 })
		if pauseFirst {
			if err := tr.Pause(); err != nil {
				t.Fatal(err)
			}
		}
		tr.Cancel()
		res, err := tr.Wait()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("pause first %v: Wait after Cancel: %v, want context.Canceled", pauseFirst, err)
		}
		if res.Fetched < 256<<10 {
			t.Errorf("pause first %v: Result.Fetched %d, want at least the 256 KiB seen", pauseFirst, res.Fetched)
		}
		if _, err := os.Stat(out + ".info"); err != nil {
			t.Errorf("pause first %v: .info after Cancel: %v", pauseFirst, err)
		}
		if err := tr.Resume(); !errors.Is(err, netfox.ErrEnded) {
			t.Errorf("pause first %v: Resume after Cancel: %v, want ErrEnded", pauseFirst, err)
		}
	}
}
