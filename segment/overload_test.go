package segment_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/clock"
	"github.com/netfox/netfox/segment"
	"github.com/netfox/netfox/siteinfo"
)

// TestOverloadLowersConnections: a server that answers its first range
// requests with 429 or 503 makes Run lower its number of connections by
// one per answer, never back up, and never below one; the download then
// completes over the connections left. Every first request of the
// workers is among the refused ones, so each worker meets at least one.
func TestOverloadLowersConnections(t *testing.T) {
	for _, tc := range []struct {
		code, conns, refused int
		want                 []int // allowed counts told by Lower events, highest first
	}{
		{http.StatusTooManyRequests, 4, 8, []int{3, 2, 1}},
		{http.StatusServiceUnavailable, 4, 8, []int{3, 2, 1}},
		{http.StatusServiceUnavailable, 2, 5, []int{1}},
		{http.StatusTooManyRequests, 1, 3, nil},
	} {
		t.Run(fmt.Sprintf("%d conns=%d", tc.code, tc.conns), func(t *testing.T) {
			const size = 1 << 20
			data := fileData(size)
			fs := newFileServer(t, data)
			rm := fs.remote(t)
			fs.arm(func(n int, w http.ResponseWriter, _ *http.Request, _ rangeRequest) bool {
				if n > tc.refused {
					return false
				}
				status(w, tc.code, "")
				return true
			})
			var log eventLog
			out := newMemOut(size)
			f := &segment.Fetcher{
				Opener: rm, Output: out, MaxTries: 2 * tc.refused,
				RetryBase: time.Millisecond, RetryWait: 5 * time.Millisecond,
				SlowWindow: -1, Clock: clock.NewFake(epoch),
				OnEvent: log.add,
			}
			if _, err := withClock(t, f.Clock.(*clock.Fake), f.RetryWait, func() error {
				return segment.Run(fetchCtx(t), newTable(size, tc.conns), f, tc.conns)
			}); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if !out.equal(data) {
				t.Fatal("wrong bytes")
			}
			// What is checked is the counts told, each once.
			var lowered []int
			for _, e := range log.of(segment.EventLower) {
				lowered = append(lowered, e.Connections)
				var se *siteinfo.StatusError
				if !errors.As(e.Err, &se) || se.Code != tc.code {
					t.Errorf("lowered for %v, want the server's %d", e.Err, tc.code)
				}
			}
			slices.Sort(lowered)
			slices.Reverse(lowered)
			if !slices.Equal(lowered, tc.want) {
				t.Errorf("Lower events told %v (sorted), want %v", lowered, tc.want)
			}
		})
	}
}

// TestTransientErrorDoesNotLower: a 500 is a failure, not a sign of
// overload: Run retries it without lowering its connections.
func TestTransientErrorDoesNotLower(t *testing.T) {
	const size, conns = 1 << 20, 4
	data := fileData(size)
	fs := newFileServer(t, data)
	rm := fs.remote(t)
	fs.arm(func(n int, w http.ResponseWriter, _ *http.Request, _ rangeRequest) bool {
		if n > 8 {
			return false
		}
		status(w, http.StatusInternalServerError, "")
		return true
	})
	out := newMemOut(size)
	var log eventLog
	f := &segment.Fetcher{
		Opener: rm, Output: out, MaxTries: 16,
		RetryBase: time.Millisecond, RetryWait: 5 * time.Millisecond,
		SlowWindow: -1, Clock: clock.NewFake(epoch),
		OnEvent: log.add,
	}
	waits, err := withClock(t, f.Clock.(*clock.Fake), f.RetryWait, func() error {
		return segment.Run(fetchCtx(t), newTable(size, conns), f, conns)
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !out.equal(data) {
		t.Fatal("wrong bytes")
	}
	if lowered := log.of(segment.EventLower); len(lowered) != 0 {
		t.Errorf("lowered to %d for a 500", lowered[0].Connections)
	}
	if n := len(log.of(segment.EventRetry)); n != 8 || len(waits) != 8 {
		t.Errorf("%d retries reported, %d waited, want one per 500, 8", n, len(waits))
	}
}
