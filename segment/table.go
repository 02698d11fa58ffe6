package segment

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/netfox/netfox/byterange"
)

// Table is the set of segments of one download and the rule for handing
// them to workers. A worker takes an idle unfinished segment; when none is
// left it takes over the far half of the busy segment with the most bytes
// remaining, so that no connection idles while another still has work.
type Table struct {
	// MinSplit is the smallest piece Take cuts off a busy segment; a
	// smaller one costs a request for too little. Zero means 1 MiB.
	MinSplit int64

	// pieces is set by Run when its connections ask in pieces: a
	// running request is then cut only at the end-game.
	pieces bool

	mu     sync.Mutex
	all    []*Entry
	nextID int
	wake   chan struct{} // closed by the next Release; guarded by mu
}

// Entry is a segment in a table, with the bookkeeping the table and the
// checkpoints need.
type Entry struct {
	*Segment
	// ID is unique within the table, stable for the segment's life (a
	// progress bar per segment keys on it).
	ID int

	busy   bool  // a worker is fetching it; guarded by Table.mu
	hedged bool  // an idle worker fetches its rest as well; guarded by Table.mu
	synced int64 // bytes below are flushed to disk; guarded by Table.mu

	rate atomic.Uint64 // measured bytes/s of its connection, as float64 bits; 0 unknown
}

// Rate is the measured speed of the segment's current connection in
// bytes per second, 0 when not measured yet.
func (e *Entry) Rate() float64 { return math.Float64frombits(e.rate.Load()) }

func (e *Entry) setRate(r float64) { e.rate.Store(math.Float64bits(r)) }

// received is the number of bytes that arrived for all the segments,
// written or not.
func (t *Table) received() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	for _, e := range t.all {
		n += e.received.Load()
	}
	return n
}

// Add registers a segment [start, end) with bytes below next written and
// below synced flushed.
func (t *Table) Add(start, next, synced, end int64) *Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addLocked(start, next, synced, end)
}

func (t *Table) addLocked(start, next, synced, end int64) *Entry {
	e := &Entry{Segment: New(start, next, end), ID: t.nextID, synced: synced}
	e.Segment.id = e.ID
	t.nextID++
	t.all = append(t.all, e)
	return e
}

// Take returns a segment for a worker to fetch, marked busy, or nil when
// every remaining byte is already being fetched in pieces too small to
// split.
func (t *Table) Take() *Entry {
	e, _ := t.take()
	return e
}

// take is Take, and when the segment returned was cut off a busy one,
// the event that tells of it (Steal or Cut; Kind 0 otherwise).
func (t *Table) take() (*Entry, Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.all {
		if !e.busy && !e.Done() {
			e.busy = true
			return e, Event{}
		}
	}
	return t.stealLocked()
}

// stealLocked gives an idle worker part of a busy segment, as a new busy
// segment. First bytes that no running request asked for (with pieces,
// see pieces.go): the far half of them, or all, off the busy segment
// that will take longest to finish at its connection's measured rate
// (remaining bytes / rate) and has at least MinSplit of them; nothing is
// cut short. Else it cuts the far half off that segment's running
// request. Pieces are at least MinSplit, or an eighth of it when the
// victim would otherwise hold up the end for more than a second: the tail
// is where a download waits for its slowest connection. With pieces, a
// request is cut only when it would run on for endgameSeconds.
func (t *Table) stealLocked() (*Entry, Event) {
	minSplit := t.MinSplit
	if minSplit <= 0 {
		minSplit = 1 << 20
	}
	typical := t.medianRateLocked()
	var victims []*Entry
	for _, e := range t.all {
		if e.busy {
			victims = append(victims, e)
		}
	}
	if len(victims) == 0 {
		return nil, Event{}
	}
	slices.SortStableFunc(victims, func(a, b *Entry) int {
		return cmp.Compare(expectedSeconds(b, typical), expectedSeconds(a, typical))
	})
	for _, v := range victims {
		if r, ok := v.cutUnrequested(minSplit); ok {
			return t.stolenLocked(EventSteal, v, r)
		}
	}
	victim := victims[0]
	victimTime := expectedSeconds(victim, typical)
	// A piece that its owner will fetch within a moment is not worth a
	// new request, whose bytes in flight on the old one are wasted.
	if typical > 0 && victim.Rate() > 0 && victimTime < minStealSeconds {
		return nil, Event{}
	}
	// With pieces, a request is cut only when it is known to run on for
	// long: unmeasured, it may well end in a moment, as on a fast link.
	if t.pieces && (typical <= 0 || victimTime < endgameSeconds) {
		return nil, Event{}
	}
	smallest := minSplit
	if typical > 0 && victimTime > 1 {
		smallest = max(minSplit/8, 1)
	}
	r, ok := victim.cutFarHalf(smallest)
	if !ok {
		return nil, Event{}
	}
	kind := EventSteal
	if t.pieces {
		kind = EventCut // a request cut short: the end-game
	}
	return t.stolenLocked(kind, victim, r)
}

// stolenLocked registers r, just cut off victim, as a busy segment, and
// returns it with the event that tells of it.
func (t *Table) stolenLocked(kind EventKind, victim *Entry, r byterange.Range) (*Entry, Event) {
	e := t.addLocked(r.Start, r.Start, r.Start, r.End)
	e.busy = true
	ev := newEvent(kind)
	ev.Segment, ev.Range = victim.ID, r
	return e, ev
}

// minStealSeconds is the shortest expected remaining time of a segment
// worth splitting.
const minStealSeconds = 0.25

// expectedSeconds is how long e needs to finish at its measured rate, or
// at typical when it has none yet. With no rate at all it ranks segments
// by remaining bytes.
func expectedSeconds(e *Entry, typical float64) float64 {
	rate := e.Rate()
	if rate <= 0 {
		rate = typical
	}
	if rate <= 0 {
		return float64(e.Remaining())
	}
	return float64(e.Remaining()) / rate
}

// medianRateLocked is the median measured rate of the busy segments, 0
// when none is measured.
func (t *Table) medianRateLocked() float64 {
	var rates []float64
	for _, e := range t.all {
		if r := e.Rate(); e.busy && r > 0 {
			rates = append(rates, r)
		}
	}
	return medianOf(rates)
}

// medianOf sorts rates and returns their median, 0 for none.
func medianOf(rates []float64) float64 {
	if len(rates) == 0 {
		return 0
	}
	slices.Sort(rates)
	n := len(rates)
	if n%2 == 1 {
		return rates[n/2]
	}
	return (rates[n/2-1] + rates[n/2]) / 2
}

// busyEntries returns the segments being fetched.
func (t *Table) busyEntries() []*Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	var busy []*Entry
	for _, e := range t.all {
		if e.busy {
			busy = append(busy, e)
		}
	}
	return busy
}

// Release marks a segment as no longer being fetched, and wakes the
// workers waiting in Changed.
func (t *Table) Release(e *Entry) {
	t.mu.Lock()
	e.busy = false
	if t.wake != nil {
		close(t.wake)
		t.wake = nil
	}
	t.mu.Unlock()
	e.setRate(0)
}

// GiveBack releases a segment whose worker stopped short of its end
// (the number of connections went down). When nothing of it was written
// and it follows a busy segment whose running request still covers it,
// as a range just cut off one does, that segment's connection gets it
// back: no new connection is opened for it, and none is left idle.
func (t *Table) GiveBack(e *Entry) {
	t.mu.Lock()
	if !e.hedged && !e.Done() {
		for _, x := range t.all {
			if x != e && x.busy && !x.hedged && x.extend(e.Next(), e.End()) {
				e.empty()
				break
			}
		}
	}
	t.mu.Unlock()
	t.Release(e)
}

// Changed returns a channel closed at the next Release: a worker that
// found nothing to Take waits on it, since a released segment may be
// unfinished (its worker retired) or splittable again.
func (t *Table) Changed() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.wake == nil {
		t.wake = make(chan struct{})
	}
	return t.wake
}

// Span is a consistent view of one segment.
type Span struct {
	ID                       int
	Start, Next, Synced, End int64
	Busy                     bool
}

// Snapshot returns every segment, ordered by Start. Taken under the table
// lock, it never shows a segment and the piece cut from it overlapping.
func (t *Table) Snapshot() []Span {
	t.mu.Lock()
	defer t.mu.Unlock()
	spans := make([]Span, len(t.all))
	for i, e := range t.all {
		spans[i] = Span{ID: e.ID, Start: e.Start, Next: e.Next(), Synced: e.synced, End: e.End(), Busy: e.busy}
	}
	// An empty segment (a hedge took all its owner had left) sorts before
	// the one that starts where it does.
	slices.SortFunc(spans, func(a, b Span) int { return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End)) })
	return spans
}

// MarkSynced records that the bytes below each span's Next, as seen in a
// snapshot taken before the file was flushed, are now on stable storage.
func (t *Table) MarkSynced(spans []Span) {
	t.mu.Lock()
	defer t.mu.Unlock()
	byID := make(map[int]int64, len(spans))
	for _, s := range spans {
		byID[s.ID] = s.Next
	}
	for _, e := range t.all {
		if n, ok := byID[e.ID]; ok && n > e.synced {
			e.synced = n
		}
	}
}

// load is the number of bytes not yet written and of segments being
// fetched: what a connection's next piece is an even share of.
func (t *Table) load() (left int64, busy int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.all {
		left += e.Remaining()
		if e.busy {
			busy++
		}
	}
	return left, busy
}

// Remaining is the number of bytes not yet written, over all segments.
func (t *Table) Remaining() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	for _, e := range t.all {
		n += e.Remaining()
	}
	return n
}
