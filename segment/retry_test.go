package segment_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/netfox/netfox/byterange"
	"github.com/netfox/netfox/internal/clock"
	"github.com/netfox/netfox/retry"
	"github.com/netfox/netfox/segment"
	"github.com/netfox/netfox/siteinfo"
)

// TestRetryResumesAtTheByteReached: every answer is cut after k bytes.
// Each retry asks for the range from the first byte not yet written, no
// byte is fetched twice, and the tries count only failures without
// progress, so MaxTries 2 does not stop a download that needs five
// connections. Each retry is reported, with the byte reached.
func TestRetryResumesAtTheByteReached(t *testing.T) {
	const size, k = 200_000, 40_000
	data := fileData(size)
	fs := newFileServer(t, data)
	rm := fs.remote(t)
	fs.arm(func(_ int, w http.ResponseWriter, _ *http.Request, req rangeRequest) bool {
		if req.end-req.start <= k {
			return false
		}
		fs.cutAfter(w, req, k)
		return true
	})
	out := newMemOut(size)
	var log eventLog
	clk := clock.NewFake(epoch)
	f := &segment.Fetcher{
		Opener: rm, Output: out, MaxTries: 2, Clock: clk,
		RetryBase: time.Millisecond, RetryWait: 2 * time.Millisecond, StallWindow: -1,
		OnEvent: log.add,
	}
	s := segment.New(0, 0, size)
	waits, err := withClock(t, clk, f.RetryWait, func() error { return f.Fetch(fetchCtx(t), s) })
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if s.Next() != size || !out.equal(data) {
		t.Fatalf("Next %d of %d, bytes equal %v", s.Next(), size, out.equal(data))
	}
	reqs := fs.rangeRequests()
	if len(reqs) != size/k {
		t.Fatalf("%d range requests, want %d: %v", len(reqs), size/k, reqs)
	}
	for i, r := range reqs {
		if r.start != int64(i*k) || r.end != size {
			t.Errorf("request %d asked for [%d, %d), want [%d, %d)", i+1, r.start, r.end, i*k, size)
		}
	}
	retries := log.all()
	if len(retries) != len(reqs)-1 || len(waits) != len(retries) {
		t.Fatalf("%d events, %d waits, want %d retries", len(retries), len(waits), len(reqs)-1)
	}
	for i, c := range retries {
		if c.Kind != segment.EventRetry || c.Offset != int64((i+1)*k) || c.Segment != -1 || c.Mirror != -1 {
			t.Errorf("event %d: %+v, want a retry at byte %d of no table's segment, no mirror", i+1, c, (i+1)*k)
		}
		if !errors.Is(c.Err, io.ErrUnexpectedEOF) || retry.IsPermanent(c.Err) {
			t.Errorf("retry %d after %v, want a transient unexpected EOF", i+1, c.Err)
		}
		// The wait told is the one kept, within the backoff's bounds.
		if c.Wait != waits[i] || c.Wait < f.RetryBase/2 || c.Wait > f.RetryWait {
			t.Errorf("retry %d told a wait of %v, waited %v, want one within [%v, %v]", i+1, c.Wait, waits[i], f.RetryBase/2, f.RetryWait)
		}
	}
}

// TestRetryGivesUpAfterMaxTries: a server that answers 500 to every range
// is asked exactly MaxTries times (zero means five), each failure but the
// last reported as a retry; the error returned is the server's answer,
// transient.
func TestRetryGivesUpAfterMaxTries(t *testing.T) {
	for _, tc := range []struct{ maxTries, want int }{{1, 1}, {3, 3}, {0, 5}} {
		t.Run(fmt.Sprint("MaxTries=", tc.maxTries), func(t *testing.T) {
			const size = 10_000
			fs := newFileServer(t, fileData(size))
			rm := fs.remote(t)
			fs.arm(func(_ int, w http.ResponseWriter, _ *http.Request, _ rangeRequest) bool {
				status(w, http.StatusInternalServerError, "")
				return true
			})
			var log eventLog
			clk := clock.NewFake(epoch)
			f := &segment.Fetcher{
				Opener: rm, Output: newMemOut(size), MaxTries: tc.maxTries, Clock: clk,
				RetryBase: time.Millisecond, RetryWait: 2 * time.Millisecond, StallWindow: -1,
				OnEvent: log.add,
			}
			s := segment.New(0, 0, size)
			waits, err := withClock(t, clk, f.RetryWait, func() error { return f.Fetch(fetchCtx(t), s) })
			var se *siteinfo.StatusError
			if !errors.As(err, &se) || se.Code != http.StatusInternalServerError {
				t.Fatalf("Fetch: %v, want the server's 500", err)
			}
			if retry.IsPermanent(err) {
				t.Errorf("a 500 after the tries ran out is permanent: %v", err)
			}
			if n := len(fs.rangeRequests()); n != tc.want {
				t.Errorf("%d range requests, want %d", n, tc.want)
			}
			if n := len(log.of(segment.EventRetry)); n != tc.want-1 || len(waits) != n {
				t.Errorf("%d retries reported, %d waits, want %d", n, len(waits), tc.want-1)
			}
			if s.Next() != 0 {
				t.Errorf("Next %d, want 0", s.Next())
			}
		})
	}
}

// fullDisk is an output that has no room.
type fullDisk struct{}

func (fullDisk) WriteAt([]byte, int64) (int, error) { return 0, syscall.ENOSPC }

// TestPermanentErrorNotRetried: an answer that retrying cannot change (a
// 4xx other than 408, 425 and 429) and an output that cannot be written
// end the fetch at the first request, with no retry reported.
func TestPermanentErrorNotRetried(t *testing.T) {
	const size = 100_000
	for _, tc := range []struct {
		name string
		code int // 0: the server is fine, the disk is full
	}{{"404", http.StatusNotFound}, {"403", http.StatusForbidden}, {"410", http.StatusGone}, {"disk full", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFileServer(t, fileData(size))
			rm := fs.remote(t)
			fs.arm(func(_ int, w http.ResponseWriter, _ *http.Request, _ rangeRequest) bool {
				if tc.code == 0 {
					return false
				}
				status(w, tc.code, "")
				return true
			})
			var log eventLog
			clk := clock.NewFake(epoch)
			f := &segment.Fetcher{
				Opener: rm, Output: newMemOut(size), MaxTries: 5, Clock: clk,
				RetryBase: time.Millisecond, RetryWait: 2 * time.Millisecond, StallWindow: -1,
				OnEvent: log.add,
			}
			if tc.code == 0 {
				f.Output = fullDisk{}
			}
			waits, err := withClock(t, clk, f.RetryWait, func() error { return f.Fetch(fetchCtx(t), segment.New(0, 0, size)) })
			if !retry.IsPermanent(err) {
				t.Fatalf("Fetch: %v, want a permanent error", err)
			}
			var se *siteinfo.StatusError
			var we *segment.WriteError
			switch {
			case tc.code != 0 && (!errors.As(err, &se) || se.Code != tc.code):
				t.Errorf("Fetch: %v, want the server's %d", err, tc.code)
			case tc.code == 0 && (!errors.As(err, &we) || !errors.Is(err, syscall.ENOSPC)):
				t.Errorf("Fetch: %v, want a WriteError around ENOSPC", err)
			}
			if n := len(fs.rangeRequests()); n != 1 {
				t.Errorf("%d range requests, want 1", n)
			}
			if n := len(log.all()); n != 0 || len(waits) != 0 {
				t.Errorf("%d events, %d waits, want none", n, len(waits))
			}
		})
	}
}

// TestPermanentErrorEndsTheRun: one range of four answered 404 ends Run
// with that answer, the range asked for once, however the others fare.
func TestPermanentErrorEndsTheRun(t *testing.T) {
	const size = 400_000
	fs := newFileServer(t, fileData(size))
	rm := fs.remote(t)
	last := byterange.Split(size, 4)[3]
	fs.arm(func(_ int, w http.ResponseWriter, _ *http.Request, req rangeRequest) bool {
		if req.start != last.Start {
			return false
		}
		status(w, http.StatusNotFound, "")
		return true
	})
	var log eventLog
	f := &segment.Fetcher{
		Opener: rm, Output: newMemOut(size), MaxTries: 5,
		RetryBase: time.Millisecond, RetryWait: 2 * time.Millisecond,
		StallWindow: time.Minute, StallSpeed: 1, SlowWindow: -1,
		OnEvent: log.add, Clock: clock.NewFake(epoch),
	}
	_, err := withClock(t, f.Clock.(*clock.Fake), f.RetryWait, func() error {
		return segment.Run(fetchCtx(t), newTable(size, 4), f, 4)
	})
	var se *siteinfo.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusNotFound {
		t.Fatalf("Run: %v, want the server's 404", err)
	}
	asked := 0
	for _, r := range fs.rangeRequests() {
		if r.start == last.Start {
			asked++
		}
	}
	if asked != 1 {
		t.Errorf("the 404 range was asked for %d times, want 1", asked)
	}
	if n := len(log.of(segment.EventRetry)); n != 0 {
		t.Errorf("%d retries reported, want none", n)
	}
}

// TestRetryHonoursRetryAfter: a 503 or 429 with "Retry-After: 1" makes
// the next try wait at least a second, though the backoff alone would
// wait a millisecond; the wait reported is the wait kept, as the server
// sees it. The second is a fake clock's.
func TestRetryHonoursRetryAfter(t *testing.T) {
	for _, code := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			const size = 50_000
			data := fileData(size)
			fs := newFileServer(t, data)
			rm := fs.remote(t)
			fs.arm(func(n int, w http.ResponseWriter, _ *http.Request, _ rangeRequest) bool {
				if n > 1 {
					return false
				}
				status(w, code, "1")
				return true
			})
			out := newMemOut(size)
			var log eventLog
			clk := clock.NewFake(epoch)
			fs.clock = clk
			f := &segment.Fetcher{
				Opener: rm, Output: out, MaxTries: 3, Clock: clk,
				RetryBase: time.Millisecond, RetryWait: time.Second, StallWindow: -1,
				OnEvent: log.add,
			}
			waits, err := withClock(t, clk, f.RetryWait, func() error { return f.Fetch(fetchCtx(t), segment.New(0, 0, size)) })
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if !out.equal(data) {
				t.Fatal("wrong bytes")
			}
			retries := log.of(segment.EventRetry)
			if len(retries) != 1 || retries[0].Wait < time.Second || len(waits) != 1 || waits[0] != retries[0].Wait {
				t.Fatalf("retries %+v, waits %v, want one that waits at least 1s", retries, waits)
			}
			var se *siteinfo.StatusError
			if !errors.As(retries[0].Err, &se) || se.Code != code {
				t.Errorf("retry after %v, want the server's %d", retries[0].Err, code)
			}
			reqs := fs.rangeRequests()
			if len(reqs) != 2 {
				t.Fatalf("%d range requests, want 2", len(reqs))
			}
			if gap := reqs[1].at.Sub(reqs[0].at); gap < time.Second {
				t.Errorf("asked again after %v, want at least 1s", gap)
			}
		})
	}
}

// TestSegmentErrorsClass: of the errors the fetcher makes, a failed
// write ends the download; a cut for a stalled, slow or silent
// connection, or a body cut short, is retried.
func TestSegmentErrorsClass(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"write error", &segment.WriteError{Err: syscall.ENOSPC}, true},
		{"wrapped write error", fmt.Errorf("segment 3: %w", &segment.WriteError{Err: syscall.EIO}), true},
		{"stalled", fmt.Errorf("%w: 0 bytes", segment.ErrStalled), false},
		{"slow connection", segment.ErrSlowConnection, false},
		{"silent", segment.ErrSilent, false},
		{"unexpected EOF", io.ErrUnexpectedEOF, false},
	}
	for _, tt := range tests {
		if got := retry.IsPermanent(tt.err); got != tt.want {
			t.Errorf("%s: IsPermanent(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
