package segment_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/clock"
	"github.com/netfox/netfox/retry"
	"github.com/netfox/netfox/segment"
)

// TestStallCutsAConnection: a connection that delivers less than
// StallSpeed over a StallWindow is cut with ErrStalled, a transient
// error, at the first window that saw too little: here the second, since
// the first brought a whole batch. After a burst, the connection sends
// nothing, or trickles at a tenth of the floor. The range goes on over a
// new connection from the byte reached, or, when no tries are left, the
// fetch ends with ErrStalled. The server is real; time is a fake clock,
// moved a window at a time once the burst is written.
func TestStallCutsAConnection(t *testing.T) {
	const (
		size   = 200_000
		burst  = 64 << 10 // one batch of the fetcher's: written at once
		speed  = 2000     // bytes/s: 600 bytes per window
		window = 300 * time.Millisecond
		every  = 50 * time.Millisecond // 6 trickles per window
	)
	for _, tc := range []struct {
		name   string
		more   int64 // bytes sent every 50ms after the burst
		always bool  // every request stalls, not only the first
	}{
		{"silent after a burst", 0, false},
		{"trickle", 10, false},
		{"always stalls", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(epoch)
			data := fileData(size)
			fs := newFileServer(t, data)
			fs.clock = clk
			rm := fs.remote(t)
			fs.arm(func(n int, w http.ResponseWriter, r *http.Request, req rangeRequest) bool {
				if n > 1 && !tc.always {
					return false
				}
				fs.holdOn(clk, w, r, req, burst, tc.more, every)
				return true
			})
			out := newMemOut(size)
			var events eventLog
			f := &segment.Fetcher{
				Opener: rm, Output: out, MaxTries: 4, Clock: clk,
				RetryBase: time.Millisecond, RetryWait: 2 * time.Millisecond,
				StallSpeed: speed, StallWindow: window,
				OnEvent: events.add,
			}
			if tc.always {
				f.MaxTries = 1
			}
			done := make(chan error, 1)
			go func() { done <- f.Fetch(fetchCtx(t), segment.New(0, 0, size)) }()
			out.written.waitFor(t, fetchCtx(t), burst)
			// The first window saw the burst, the second too little.
			clk.Advance(window)
			clk.Advance(window)
			if tc.always {
				err := <-done
				if !errors.Is(err, segment.ErrStalled) || retry.IsPermanent(err) {
					t.Fatalf("Fetch: %v, want a transient ErrStalled", err)
				}
				if n := len(fs.rangeRequests()); n != 1 {
					t.Errorf("%d range requests, want 1", n)
				}
				return
			}
			// Let the retry's wait through; the new connection is honest.
			if err := clk.WaitFor(fetchCtx(t), func(left []time.Duration) bool {
				return len(left) > 0 && left[0] <= f.RetryWait
			}); err != nil {
				t.Fatalf("no retry wait began: %v", err)
			}
			clk.Advance(f.RetryWait)
			if err := <-done; err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if !out.equal(data) {
				t.Fatal("wrong bytes")
			}
			reqs := fs.rangeRequests()
			retries := events.of(segment.EventRetry)
			if len(reqs) != 2 || len(retries) != 1 {
				t.Fatalf("%d range requests, %d retries reported, want 2 and 1", len(reqs), len(retries))
			}
			c := retries[0]
			if !errors.Is(c.Err, segment.ErrStalled) || retry.IsPermanent(c.Err) {
				t.Errorf("retry after %v, want a transient ErrStalled", c.Err)
			}
			if c.Offset < burst || reqs[1].start != c.Offset {
				t.Errorf("request 2 from byte %d, want the byte reached %d (at least the burst, %d)", reqs[1].start, c.Offset, burst)
			}
			if cut := c.At.Sub(epoch); cut != 2*window {
				t.Errorf("connection cut %v after the fetch began, want at the end of the second window, %v", cut, 2*window)
			}
		})
	}
}

// holdOn answers req honestly, sends k bytes of the body, then every
// `every` on clk sends `more` bytes (none when more is 0) until the client
// goes away or the test ends. It never completes the body.
func (fs *fileServer) holdOn(clk clock.Clock, w http.ResponseWriter, r *http.Request, req rangeRequest, k, more int64, every time.Duration) {
	fs.writeHead(w, req)
	at := req.start
	next := func(n int64) {
		n = min(n, req.end-1-at) // never the last byte
		send(w, fs.data[at:at+n])
		at += n
	}
	next(k)
	var tick <-chan time.Time
	if more > 0 {
		t := clk.NewTicker(every)
		defer t.Stop()
		tick = t.C()
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-fs.stop:
			return
		case <-tick:
			next(more)
		}
	}
}

// TestSteadyConnectionNotStalled: a connection that delivers 2 KiB every
// 10ms, far above the floor, over more than three stall windows, is
// never cut. Each 2 KiB goes out when the test says, and the fake clock
// moves 10ms once the fetcher has read it.
func TestSteadyConnectionNotStalled(t *testing.T) {
	const (
		size   = 192 << 10
		chunk  = 2 << 10
		every  = 10 * time.Millisecond
		window = 300 * time.Millisecond
	)
	clk := clock.NewFake(epoch)
	data := fileData(size)
	fs := newFileServer(t, data)
	rm := fs.remote(t)
	feed := make(chan struct{})
	fs.arm(func(_ int, w http.ResponseWriter, r *http.Request, req rangeRequest) bool {
		fs.writeHead(w, req)
		for at := req.start; at < req.end; at += chunk {
			select {
			case <-feed:
			case <-r.Context().Done():
				return true
			case <-fs.stop:
				return true
			}
			send(w, data[at:min(at+chunk, req.end)])
		}
		return true
	})
	in := &readCounting{Opener: rm}
	out := newMemOut(size)
	var events eventLog
	f := &segment.Fetcher{
		Opener: in, Output: out, MaxTries: 1, Clock: clk,
		StallSpeed: 1 << 10, StallWindow: window,
		OnEvent: events.add,
	}
	done := make(chan error, 1)
	go func() { done <- f.Fetch(fetchCtx(t), segment.New(0, 0, size)) }()
	// The watchdog runs from the attempt's start.
	if err := clk.WaitPending(fetchCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	for sent := int64(chunk); sent <= size; sent += chunk {
		select {
		case feed <- struct{}{}:
		case err := <-done:
			t.Fatalf("Fetch ended at byte %d of the clock's %v: %v (events %+v)", sent-chunk, clk.Now().Sub(epoch), err, events.all())
		}
		in.read.waitFor(t, fetchCtx(t), sent)
		clk.Advance(every)
	}
	if err := <-done; err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if !out.equal(data) {
		t.Fatal("wrong bytes")
	}
	if n := len(fs.rangeRequests()); n != 1 {
		t.Errorf("%d range requests, want 1", n)
	}
	if n := len(events.all()); n != 0 {
		t.Errorf("%d events (%v), want none", n, events.all())
	}
	if took := clk.Now().Sub(epoch); took < 3*window {
		t.Errorf("fetch took %v of the clock, less than three stall windows (%v)", took, 3*window)
	}
}
