package segment_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/clock"
	"github.com/netfox/netfox/retry"
	"github.com/netfox/netfox/segment"
	"github.com/netfox/netfox/siteinfo"
)

// mirrors serves one file from n servers; bad answers range requests
// with its misbehave function, the others serve honestly, but only once
// bad has been asked for a range: each worker starts on its own mirror,
// so the bad one is sure to be tried.
type mirrors struct {
	servers []*fileServer
	openers []segment.Opener
	asked   chan struct{} // closed at bad's first range request
}

func newMirrors(t *testing.T, data []byte, n, bad int, hook misbehave) *mirrors {
	m := &mirrors{asked: make(chan struct{})}
	var once sync.Once
	for i := range n {
		fs := newFileServer(t, data)
		m.servers = append(m.servers, fs)
		m.openers = append(m.openers, fs.remote(t))
		if i == bad {
			fs.arm(func(k int, w http.ResponseWriter, r *http.Request, req rangeRequest) bool {
				once.Do(func() { close(m.asked) })
				return hook(k, w, r, req)
			})
			continue
		}
		fs.arm(func(_ int, w http.ResponseWriter, r *http.Request, _ rangeRequest) bool {
			select {
			case <-m.asked:
				return false
			case <-r.Context().Done():
			case <-fs.stop:
			}
			status(w, http.StatusServiceUnavailable, "")
			return true
		})
	}
	return m
}

// dropLog records the mirrors a Run gives up (its MirrorDropped events).
type dropLog struct{ eventLog }

func (l *dropLog) all() ([]int, []error) {
	var indexes []int
	var errs []error
	for _, e := range l.of(segment.EventMirrorDropped) {
		indexes = append(indexes, e.Mirror)
		errs = append(errs, e.Err)
	}
	return indexes, errs
}

// mirrorFetcher is a Fetcher over ms with short waits on a fake clock
// (run it withClock); slow-connection reconnects, which move workers
// between mirrors, are off.
func mirrorFetcher(openers []segment.Opener, out io.WriterAt, log *dropLog) *segment.Fetcher {
	var ms []*segment.Mirror
	for _, o := range openers {
		ms = append(ms, &segment.Mirror{Opener: o})
	}
	return &segment.Fetcher{
		Mirrors: ms, Output: out, MaxTries: 2, Fetched: new(atomic.Int64),
		RetryBase: time.Millisecond, RetryWait: 2 * time.Millisecond,
		SlowWindow: -1, OnEvent: log.add, Clock: clock.NewFake(epoch),
	}
}

// TestMirrorDropped: of three mirrors, the middle one fails for good
// (404), fails every try (500), or cuts every answer short (progress
// each time, but a failure each time too). It is dropped, once, with its
// error, and the others fetch the whole file.
func TestMirrorDropped(t *testing.T) {
	const size = 1 << 20
	for _, tc := range []struct {
		name      string
		hook      func(fs func() *fileServer) misbehave
		permanent bool
		is        func(error) bool
	}{
		{"404", func(func() *fileServer) misbehave {
			return func(_ int, w http.ResponseWriter, _ *http.Request, _ rangeRequest) bool {
				status(w, http.StatusNotFound, "")
				return true
			}
		}, true, isStatus(http.StatusNotFound)},
		{"500 each time", func(func() *fileServer) misbehave {
			return func(_ int, w http.ResponseWriter, _ *http.Request, _ rangeRequest) bool {
				status(w, http.StatusInternalServerError, "")
				return true
			}
		}, false, isStatus(http.StatusInternalServerError)},
		{"cut short each time", func(fs func() *fileServer) misbehave {
			return func(_ int, w http.ResponseWriter, _ *http.Request, req rangeRequest) bool {
				fs().cutAfter(w, req, (req.end-req.start)/2)
				return true
			}
		}, false, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := fileData(size)
			var m *mirrors
			m = newMirrors(t, data, 3, 1, tc.hook(func() *fileServer { return m.servers[1] }))
			out := newMemOut(size)
			var log dropLog
			f := mirrorFetcher(m.openers, out, &log)
			if _, err := withClock(t, f.Clock.(*clock.Fake), f.RetryWait, func() error {
				return segment.Run(fetchCtx(t), newTable(size, 3), f, 3)
			}); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if !out.equal(data) {
				t.Fatal("wrong bytes")
			}
			// Each mirror's share is what of it was written: the shares
			// add up to the file, and the dropped one says why.
			var shares int64
			for i, mi := range f.Mirrors {
				shares += mi.Written()
				if (mi.Dropped() != nil) != (i == 1) {
					t.Errorf("mirror %d: Dropped() = %v", i, mi.Dropped())
				}
			}
			if shares != size || f.Fetched.Load() != size {
				t.Errorf("shares add up to %d, fetched %d, want %d", shares, f.Fetched.Load(), size)
			}
			dropped, errs := log.all()
			if len(dropped) != 1 || dropped[0] != 1 {
				t.Fatalf("dropped mirrors %v, want [1]", dropped)
			}
			if !tc.is(errs[0]) || retry.IsPermanent(errs[0]) != tc.permanent {
				t.Errorf("dropped for %v, want permanent %v", errs[0], tc.permanent)
			}
		})
	}
}

func isStatus(code int) func(error) bool {
	return func(err error) bool {
		var se *siteinfo.StatusError
		return errors.As(err, &se) && se.Code == code
	}
}

// TestLastMirrorNotDropped: when every mirror fails, all but one are
// dropped and the last one's error ends the Run: the download never
// goes on with no source, nor ends without saying why.
func TestLastMirrorNotDropped(t *testing.T) {
	const size = 1 << 20
	for _, tc := range []struct {
		name  string
		n     int
		code  int
		drops int
	}{
		{"two mirrors, 404", 2, http.StatusNotFound, 1},
		{"three mirrors, 500", 3, http.StatusInternalServerError, 2},
		{"one mirror, 500", 1, http.StatusInternalServerError, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := fileData(size)
			var openers []segment.Opener
			for range tc.n {
				fs := newFileServer(t, data)
				openers = append(openers, fs.remote(t))
				fs.arm(func(_ int, w http.ResponseWriter, _ *http.Request, _ rangeRequest) bool {
					status(w, tc.code, "")
					return true
				})
			}
			var log dropLog
			f := mirrorFetcher(openers, newMemOut(size), &log)
			_, err := withClock(t, f.Clock.(*clock.Fake), f.RetryWait, func() error {
				return segment.Run(fetchCtx(t), newTable(size, tc.n), f, tc.n)
			})
			if !isStatus(tc.code)(err) {
				t.Fatalf("Run: %v, want the last mirror's %d", err, tc.code)
			}
			if dropped, _ := log.all(); len(dropped) != tc.drops {
				t.Errorf("dropped mirrors %v, want %d of %d", dropped, tc.drops, tc.n)
			}
		})
	}
}

// TestMirrorGoesDown: of two mirrors, one goes away in the middle of an
// answer: it stops accepting, then its connections are cut. Its segment
// is retried on it, refused, and once it is given up (a MirrorDropped
// event with its index and a transient cause), fetched from the other:
// the file is whole, and the shares add up. The servers are real; the
// retry waits are on a fake clock, let through as each begins, so the
// mirror fails its tries whatever the load of the machine.
func TestMirrorGoesDown(t *testing.T) {
	const size = 1 << 20
	data := fileData(size)
	halfSent := make(chan struct{})
	var once sync.Once
	var m *mirrors
	m = newMirrors(t, data, 2, 1, func(_ int, w http.ResponseWriter, r *http.Request, req rangeRequest) bool {
		fs := m.servers[1]
		fs.writeHead(w, req)
		send(w, data[req.start:req.start+(req.end-req.start)/2])
		once.Do(func() { close(halfSent) })
		select { // until it goes down
		case <-r.Context().Done():
		case <-fs.stop:
		}
		return true
	})
	out := newMemOut(size)
	var log dropLog
	f := mirrorFetcher(m.openers, out, &log)
	// Let each retry wait through as it begins (the monitor's tick and
	// the idle rechecks are longer, and wait), once the mirror is down.
	_, err := withClock(t, f.Clock.(*clock.Fake), f.RetryWait, func() error {
		done := make(chan error, 1)
		go func() { done <- segment.Run(fetchCtx(t), newTable(size, 4), f, 4) }()
		select {
		case <-halfSent:
		case err := <-done:
			return fmt.Errorf("ended before the mirror went down: %v", err)
		}
		dying := m.servers[1].srv
		dying.Listener.Close() // first: a retry must find it gone
		dying.CloseClientConnections()
		return <-done
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !out.equal(data) {
		t.Fatal("wrong bytes")
	}
	dropped, errs := log.all()
	if len(dropped) != 1 || dropped[0] != 1 || retry.IsPermanent(errs[0]) {
		t.Fatalf("dropped %v for %v, want mirror 1 for a transient failure", dropped, errs)
	}
	if f.Mirrors[0].Dropped() != nil || f.Mirrors[1].Dropped() == nil {
		t.Errorf("Dropped() = %v, %v; want nil for the live mirror", f.Mirrors[0].Dropped(), f.Mirrors[1].Dropped())
	}
	if shares := f.Mirrors[0].Written() + f.Mirrors[1].Written(); shares != size || f.Mirrors[1].Written() == 0 {
		t.Errorf("shares %d + %d, want %d with some from the mirror that went down", f.Mirrors[0].Written(), f.Mirrors[1].Written(), size)
	}
	// Its retries were told, each for a segment, from mirror 1.
	for _, e := range log.of(segment.EventRetry) {
		if e.Segment < 0 || e.Mirror != 1 {
			t.Errorf("retry told %+v, want a segment of mirror 1", e)
		}
	}
}
