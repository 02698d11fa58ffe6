package segment

import (
	"bytes"
	"context"
	"io"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/netfox/netfox/byterange"
)

// eventLog records the events a Fetcher tells.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

// of returns the events of kind, in order.
func (l *eventLog) of(kind EventKind) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var of []Event
	for _, e := range l.events {
		if e.Kind == kind {
			of = append(of, e)
		}
	}
	return of
}

func (l *eventLog) all() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}

// TestTakeTellsStealsAndCuts: the event of a Take that cuts a range off
// a busy segment names the victim and the range taken: a Steal for bytes
// no request asked for, or for the far half of a request without pieces;
// a Cut for the far half of a running request with pieces (the
// end-game). A Take of an idle segment tells nothing.
func TestTakeTellsStealsAndCuts(t *testing.T) {
	_, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	tests := []struct {
		name   string
		pieces bool
		ask    int64   // the running request's length from byte 0; 0: none asked
		rate   float64 // the victim's measured rate; 0: none
		want   Event
	}{
		{"bytes beyond the request", true, 4 * mib, 0,
			Event{Kind: EventSteal, Range: byterange.Range{Start: 10 * mib, End: 16 * mib}}},
		{"far half of the request, without pieces", false, 16 * mib, 0,
			Event{Kind: EventSteal, Range: byterange.Range{Start: 8 * mib, End: 16 * mib}}},
		{"far half of a long request, with pieces: the end-game", true, 16 * mib, 1 * mib,
			Event{Kind: EventCut, Range: byterange.Range{Start: 8 * mib, End: 16 * mib}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := &Table{MinSplit: mib, pieces: tt.pieces}
			a := tb.Add(0, 0, 0, 16*mib)
			if e, ev := tb.take(); e != a || ev.Kind != 0 {
				t.Fatalf("take of the idle segment = %v, %+v; want it, and no event", e, ev)
			}
			a.beginAttempt(cancel, time.Time{})
			a.askPiece(tt.ask)
			a.setRate(tt.rate)
			e, ev := tb.take()
			want := tt.want
			want.Segment, want.Mirror = a.ID, -1
			if e == nil || ev != want {
				t.Fatalf("take = %v, %+v; want %+v", e, ev, want)
			}
			if e.Start != want.Range.Start || e.End() != want.Range.End || a.End() != want.Range.Start {
				t.Errorf("took [%d, %d), victim ends at %d; the event says %v", e.Start, e.End(), a.End(), want.Range)
			}
		})
	}
}

// rateOpener serves each request at perConn bytes per second, in steps
// of 16 KiB: connections capped alike, on no common link, so that each
// step of -n auto pays.
type rateOpener struct {
	data    []byte
	perConn float64
}

func (o *rateOpener) OpenRange(ctx context.Context, r byterange.Range) (io.ReadCloser, error) {
	return &pacedBody{ctx: ctx, data: o.data[r.Start:r.End], every: time.Duration(float64(time.Second) * 1024 / o.perConn)}, nil
}

// TestAutoStepsTold: with Auto, each change of the count is told as an
// AutoStep event with the count, why, and the rate measured before it:
// from one connection at 256 KiB/s each, the count doubles while the rate
// does, to Max, where it settles. In a synctest bubble: warm-ups and windows on its clock.
func TestAutoStepsTold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const perConn = 256 << 10
		data := bytes.Repeat([]byte("netfox -n auto. "), 4<<20/16)
		table := &Table{MinSplit: 256 << 10}
		table.Add(0, 0, 0, int64(len(data)))
		out := newMemFile(len(data))
		var log eventLog
		f := &Fetcher{
			Opener: &rateOpener{data: data, perConn: perConn}, Output: out,
			SlowWindow: -1, Auto: &Auto{Max: 4}, OnEvent: log.add,
		}
		if err := Run(context.Background(), table, f, 1); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.buf, data) {
			t.Fatal("wrong bytes")
		}
		steps := log.of(EventAutoStep)
		var got []int
		var reasons []Reason
		for _, e := range steps {
			got = append(got, e.Connections)
			reasons = append(reasons, e.Reason)
			if e.Mirror != -1 || e.Segment != -1 {
				t.Errorf("step %+v names a mirror or segment", e)
			}
		}
		// 4 twice: once reached, once measured there and settled.
		if !slices.Equal(got, []int{1, 2, 4, 4}) || !slices.Equal(reasons, []Reason{ReasonProbing, ReasonProbing, ReasonProbing, ReasonMax}) {
			t.Fatalf("steps told %v for %v, want [1 2 4 4] for [probing probing probing max]", got, reasons)
		}
		// The rate measured before each: none before the first, then one,
		// two and four connections' worth.
		for i, want := range []float64{0, perConn, 2 * perConn, 4 * perConn} {
			if r := steps[i].Rate; r < 0.9*want || r > 1.1*want {
				t.Errorf("step %d told a rate of %.0f B/s, want %.0f", i, r, want)
			}
		}
	})
}
