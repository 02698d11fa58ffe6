package segment

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/netfox/netfox/byterange"
)

func TestJudgeSlow(t *testing.T) {
	rule := slowRule{Window: time.Second, Ratio: 3}
	const mib = 1 << 20
	// A connection at a quarter of the median, slow long enough, with
	// plenty left: the base case, replaced; each row changes one fact.
	base := slowFacts{Steady: true, Rate: 0.5 * mib, Median: 2 * mib, Peers: 8, SlowFor: 2 * time.Second, Remaining: 16 * mib, Budget: true}
	tests := []struct {
		name   string
		change func(*slowFacts)
		want   slowVerdict
	}{
		{"slow for two windows", func(*slowFacts) {}, slowReplace},
		{"not at steady rate yet (burst, slow start)", func(f *slowFacts) { f.Steady = false }, slowKeep},
		{"at a third of the median exactly", func(f *slowFacts) { f.Rate = f.Median / 3 }, slowKeep},
		{"just below a third", func(f *slowFacts) { f.Rate = f.Median/3 - 1 }, slowReplace},
		{"as fast as the others", func(f *slowFacts) { f.Rate = f.Median }, slowKeep},
		{"two peers: no median to judge by", func(f *slowFacts) { f.Peers = 2 }, slowKeep},
		{"slow for one window only", func(f *slowFacts) { f.SlowFor = time.Second }, slowPending},
		{"slow a moment short of two windows", func(f *slowFacts) { f.SlowFor = 2*time.Second - time.Millisecond }, slowPending},
		{"finishes within a window", func(f *slowFacts) { f.Remaining = int64(f.Rate) }, slowFinishing},
		{"a successor on this server was no faster", func(f *slowFacts) { f.Futile = true }, slowFutile},
		{"reconnect budget spent", func(f *slowFacts) { f.Budget = false }, slowNoBudget},
		{"no median measured", func(f *slowFacts) { f.Median = 0 }, slowKeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base
			tt.change(&f)
			if got := judgeSlow(f, rule); got != tt.want {
				t.Errorf("judgeSlow(%+v) = %d, want %d", f, got, tt.want)
			}
		})
	}
}

func TestSuccessorFaster(t *testing.T) {
	tests := []struct {
		was, now float64
		want     bool
	}{
		{1, 1, false},     // capped alike: a new connection gets the same lot
		{1, 1.49, false},  // within noise
		{1, 1.5, true},    // a clear gain
		{1, 8, true},      // the mixed server's fast cap
		{2, 1, false},     // slower still
		{100, 149, false}, // scale does not matter
	}
	for _, tt := range tests {
		if got := successorFaster(tt.was, tt.now); got != tt.want {
			t.Errorf("successorFaster(%v, %v) = %v, want %v", tt.was, tt.now, got, tt.want)
		}
	}
}

// cappedOpener serves ranges of data, each request as a new connection
// capped at rate(i) bytes per second (i: the request's number from 0),
// after a first burst of burst(i) bytes sent at once, as nginx's
// limit_rate does.
type cappedOpener struct {
	data   []byte
	opened atomic.Int64
	rate   func(i int64) float64
	burst  func(i int64) float64
}

func (o *cappedOpener) OpenRange(ctx context.Context, r byterange.Range) (io.ReadCloser, error) {
	i := o.opened.Add(1) - 1
	return &cappedBody{ctx: ctx, data: o.data[r.Start:r.End], rate: o.rate(i), burst: o.burst(i), began: time.Now()}, nil
}

type cappedBody struct {
	ctx         context.Context
	data        []byte
	rate, burst float64
	began       time.Time
	sent        float64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	for {
		allowed := b.burst + b.rate*time.Since(b.began).Seconds() - b.sent
		if allowed >= 1 {
			n := min(len(p), len(b.data), int(allowed), 64<<10)
			copy(p, b.data[:n])
			b.data = b.data[n:]
			b.sent += float64(n)
			return n, nil
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-b.ctx.Done():
			return 0, b.ctx.Err()
		}
	}
}

func (b *cappedBody) Close() error { return nil }

// runCapped fetches 4 MiB over 4 connections from o with a 200 ms slow
// window and returns the slow connections replaced (their Replace
// events). It runs in a synctest bubble: the connections' rates and the
// monitor's windows are on its fake clock, which moves only when every
// goroutine waits, so the rates measured are the caps, whatever the load
// of the machine.
func runCapped(t *testing.T, o *cappedOpener) []Event {
	t.Helper()
	var slow []Event
	synctest.Test(t, func(t *testing.T) {
		o.data = bytes.Repeat([]byte("netfox slow rule"), 4<<20/16)
		table := &Table{}
		for _, r := range byterange.Split(int64(len(o.data)), 4) {
			table.Add(r.Start, r.Start, r.Start, r.End)
		}
		out := newMemFile(len(o.data))
		var log eventLog
		f := &Fetcher{Opener: o, Output: out, SlowWindow: testWindow, OnEvent: log.add}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		began := time.Now()
		if err := Run(ctx, table, f, 4); err != nil {
			t.Fatal(err)
		}
		t.Logf("%v of the bubble's clock, %d requests, %d replacements", time.Since(began), o.opened.Load(), len(log.of(EventReplace)))
		if !bytes.Equal(out.buf, o.data) {
			t.Fatal("wrong bytes")
		}
		for _, e := range log.of(EventReplace) {
			if errors.Is(e.Err, ErrSlowConnection) {
				slow = append(slow, e)
			}
		}
	})
	return slow
}

const testWindow = 200 * time.Millisecond

// TestCappedAlikeWithBurstNotReplaced: every connection is capped at the
// same 1 MiB/s after a burst of three windows' worth, as nginx's
// limit_rate does (a young request looks three times faster than an old
// one over a window): none is replaced.
func TestCappedAlikeWithBurstNotReplaced(t *testing.T) {
	const rate = 1 << 20
	o := &cappedOpener{
		rate:  func(int64) float64 { return rate },
		burst: func(int64) float64 { return 3 * rate * testWindow.Seconds() },
	}
	if n := len(runCapped(t, o)); n != 0 {
		t.Errorf("%d connections replaced; all were capped alike", n)
	}
}

// TestSlowFirstConnectionsReplaced: the first two connections run at a
// sixteenth of the others' rate; both are replaced (their successors run
// fast), and each replacement is told with its facts.
func TestSlowFirstConnectionsReplaced(t *testing.T) {
	const rate = 1 << 20
	o := &cappedOpener{
		rate: func(i int64) float64 {
			if i < 2 {
				return rate / 16
			}
			return rate
		},
		burst: func(int64) float64 { return 0 },
	}
	slow := runCapped(t, o)
	if len(slow) != 2 {
		t.Fatalf("%d slow connections replaced, want the two slow ones", len(slow))
	}
	// Told with the facts: a steady rate near the slow cap, far below
	// the median of the fast ones.
	for _, e := range slow {
		if e.Rate < rate/32 || e.Rate > rate/8 || e.Median < rate/2 || e.Segment < 0 || e.Offset <= 0 {
			t.Errorf("replacement told %+v: want a rate near %d, a median near %d, the segment and the byte reached", e, rate/16, rate)
		}
	}
}

// TestFutileReplacementStops: the first connection is slow and so is
// every connection from the fifth on, so replacing the slow one brings
// no faster successor: the rule stops replacing after that trial.
func TestFutileReplacementStops(t *testing.T) {
	const rate = 1 << 20
	o := &cappedOpener{
		rate: func(i int64) float64 {
			if i == 0 || i >= 4 {
				return rate / 16
			}
			return rate
		},
		burst: func(int64) float64 { return 0 },
	}
	if n := len(runCapped(t, o)); n != 1 {
		t.Errorf("%d slow connections replaced; want the one trial", n)
	}
}
