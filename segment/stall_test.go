package segment_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/netfox/netfox/retry"
	"github.com/netfox/netfox/segment"
)

// TestStallCutsAConnection: a connection that delivers less than
// StallSpeed over a StallWindow (nothing after a first burst, or a
// trickle at a tenth of the floor) is cut with ErrStalled, a
// transient error, no sooner than a window after the attempt began: the
// range goes on over a new connection from the byte reached, or, when no
// tries are left, the fetch ends with ErrStalled. (The honest answers
// that follow may be cut too on a machine so loaded that a new
// connection takes a window to answer; that only adds retries.)
func TestStallCutsAConnection(t *testing.T) {
	const (
		size   = 200_000
		speed  = 2000 // bytes/s: 600 bytes per window
		window = 300 * time.Millisecond
	)
	for _, tc := range []struct {
		name        string
		first, more int64 // bytes sent at once, then every 50ms
		always      bool  // every request stalls, not only the first
	}{
		{"silent after a burst", 8 << 10, 0, false},
		{"trickle", 10, 10, false},
		{"always stalls", 8 << 10, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := fileData(size)
			fs := newFileServer(t, data)
			rm := fs.remote(t)
			fs.arm(func(n int, w http.ResponseWriter, r *http.Request, req rangeRequest) bool {
				if n > 1 && !tc.always {
					return false
				}
				fs.hold(w, r, req, tc.first, tc.more, 50*time.Millisecond)
				return true
			})
			out := newMemOut(size)
			var log retryLog
			f := &segment.Fetcher{
				Opener: rm, Output: out, MaxTries: 4,
				RetryBase: time.Millisecond, RetryWait: 2 * time.Millisecond,
				StallSpeed: speed, StallWindow: window,
				OnRetry: log.onRetry,
			}
			if tc.always {
				f.MaxTries = 1
			}
			start := time.Now()
			err := f.Fetch(fetchCtx(t), segment.New(0, 0, size))
			reqs := fs.rangeRequests()
			if tc.always {
				if !errors.Is(err, segment.ErrStalled) || retry.IsPermanent(err) {
					t.Fatalf("Fetch: %v, want a transient ErrStalled", err)
				}
				if len(reqs) != 1 {
					t.Errorf("%d range requests, want 1", len(reqs))
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if !out.equal(data) {
				t.Fatal("wrong bytes")
			}
			retries := log.all()
			if len(retries) == 0 || len(reqs) != len(retries)+1 {
				t.Fatalf("%d range requests, %d retries reported, want 2 and 1 (or more on a loaded machine)", len(reqs), len(retries))
			}
			for i, c := range retries {
				if !errors.Is(c.err, segment.ErrStalled) || retry.IsPermanent(c.err) {
					t.Errorf("retry %d after %v, want a transient ErrStalled", i+1, c.err)
				}
				if reqs[i+1].start != c.next {
					t.Errorf("request %d from byte %d, want the byte reached %d", i+2, reqs[i+1].start, c.next)
				}
			}
			if cut := reqs[1].at.Sub(start); cut < window {
				t.Errorf("connection cut %v after the fetch began, within the first stall window %v", cut, window)
			}
		})
	}
}

// TestSteadyConnectionNotStalled: a connection that delivers 2 KiB every
// 10ms, far above the floor, over several stall windows, is never cut.
func TestSteadyConnectionNotStalled(t *testing.T) {
	const (
		size   = 192 << 10
		chunk  = 2 << 10
		every  = 10 * time.Millisecond
		window = 300 * time.Millisecond
	)
	data := fileData(size)
	fs := newFileServer(t, data)
	rm := fs.remote(t)
	fs.arm(func(_ int, w http.ResponseWriter, r *http.Request, req rangeRequest) bool {
		fs.writeHead(w, req)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for at := req.start; at < req.end; at += chunk {
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return true
			}
			send(w, data[at:min(at+chunk, req.end)])
		}
		return true
	})
	out := newMemOut(size)
	var log retryLog
	f := &segment.Fetcher{
		Opener: rm, Output: out, MaxTries: 1,
		StallSpeed: 1 << 10, StallWindow: window,
		OnRetry: log.onRetry,
	}
	start := time.Now()
	if err := f.Fetch(fetchCtx(t), segment.New(0, 0, size)); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	took := time.Since(start)
	if !out.equal(data) {
		t.Fatal("wrong bytes")
	}
	if n := len(fs.rangeRequests()); n != 1 {
		t.Errorf("%d range requests, want 1", n)
	}
	if n := len(log.all()); n != 0 {
		t.Errorf("%d retries reported, want none", n)
	}
	// The pacing makes this hold; it says the watchdog had its chances.
	if took < 3*window {
		t.Errorf("fetch took %v, less than three stall windows (%v)", took, 3*window)
	}
}
