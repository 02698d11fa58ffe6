package segment

import (
	"fmt"
	"sync"
	"time"
)

// Silent connections. A connection that sends nothing has no rate, so
// neither stealing nor the slow-connection rule can judge it, and the
// absolute stall window (StallWindow, 1 KiB/s over 10 s by default) and
// the transport's 30 s response-header timeout are far too long next to
// connections that deliver hundreds of MiB/s. So a Run also judges each
// connection's silence against its own other connections:
//
//   - waiting for response headers, against the median time the Run's
//     requests needed to get theirs (none measured yet, as for the first
//     requests of a download: only the absolute limits apply);
//   - in the body, against the longest time the median connection has
//     needed to deliver a batch (see gather);
//
// and, while nothing arrives on any connection (the server or the path
// paused for everyone, or the others are done), with a wait that doubles
// at each such cut.
//
// A connection silent for answerFactor (headers) or silentFactor (body)
// times the reference, and at least answerFloor (headers: a cut costs no
// byte received, only a new request) or silentFloor (body), is closed;
// its range goes on at once on a new connection (ErrSilent), the same as
// a slow connection's: from the byte reached, so nothing is written
// twice. (The first request of a download, the probe, is hedged instead:
// see the netfox package.) Such cuts share the Run's reconnect budget
// (Fetcher.MaxReconnects), so a link that goes down entirely costs a
// bounded number of them before the absolute limits take over. A
// connection that is slow but steady, like all the others, is never cut:
// its waits are the reference.

const (
	// silentFactor is how many times the typical batch a connection may
	// stay silent in the body of its answer.
	silentFactor = 4
	// answerFactor is how many times the typical time to response
	// headers a request may wait for its own. More than silentFactor: the
	// typical request goes over a connection kept alive, while a new one
	// first pays its TCP and TLS handshakes, up to three round trips more.
	answerFactor = 8
	// silentFloor is the shortest silence in the body judged, whatever
	// the others do, and answerFloor the shortest wait for headers.
	silentFloor = 500 * time.Millisecond
	answerFloor = 250 * time.Millisecond
	// silentMemory is how many past measurements a reference is the
	// median of.
	silentMemory = 32
)

// silence is what a Run's workers report for the silence watch: how long
// requests waited for their response headers, and the longest time each
// finished attempt needed for a batch.
type silence struct {
	mu      sync.Mutex
	answers []time.Duration // recent times to response headers, oldest first; guarded by mu
	batches []time.Duration // slowest batch of recent attempts, oldest first; guarded by mu
}

// answered records that the current attempt of s got its response
// headers, at now.
func (sl *silence) answered(s *Segment, at time.Time) {
	now := at.UnixNano()
	s.answered.Store(now)
	took := time.Duration(now - s.began.Load())
	sl.mu.Lock()
	sl.answers = remember(sl.answers, took)
	sl.mu.Unlock()
}

// ended records the slowest batch of an attempt of s that is over, if it
// delivered any.
func (sl *silence) ended(s *Segment) {
	if d := time.Duration(s.slowestBatch.Load()); d > 0 {
		sl.mu.Lock()
		sl.batches = remember(sl.batches, d)
		sl.mu.Unlock()
	}
}

// typicalAnswer is the median time to response headers, false when none
// was measured yet.
func (sl *silence) typicalAnswer() (time.Duration, bool) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	return medianDuration(sl.answers)
}

// typicalBatch is the median slowest batch of the attempts that ended and
// of the running ones other than except's, false when none delivered yet.
func (sl *silence) typicalBatch(busy []*Entry, except *Entry) (time.Duration, bool) {
	sl.mu.Lock()
	slowest := append([]time.Duration(nil), sl.batches...)
	sl.mu.Unlock()
	for _, e := range busy {
		if d := time.Duration(e.slowestBatch.Load()); e != except && d > 0 {
			slowest = append(slowest, d)
		}
	}
	return medianDuration(slowest)
}

// remember appends d to the last silentMemory measurements.
func remember(ds []time.Duration, d time.Duration) []time.Duration {
	if len(ds) >= silentMemory {
		ds = append(ds[:0], ds[len(ds)-silentMemory+1:]...)
	}
	return append(ds, d)
}

// medianDuration is the median of ds, false for none.
func medianDuration(ds []time.Duration) (time.Duration, bool) {
	if len(ds) == 0 {
		return 0, false
	}
	v := make([]float64, len(ds))
	for i, d := range ds {
		v[i] = float64(d)
	}
	return time.Duration(medianOf(v)), true
}

// quiet is the silence watch's view of one attempt of a segment.
type quiet struct {
	attempt  int64
	received int64     // the segment's arrival counter when last seen to grow
	since    time.Time // the last arrival seen, else the headers, else the start
	answered bool      // response headers came
	cut      bool      // closed for its silence
}

// silenceWatch finds the silent connections of a Run; the monitor drives
// it, once per tick.
type silenceWatch struct {
	reports *silence
	conns   map[int]*quiet // per entry ID, the current attempt
	// stallCuts counts the cuts made since bytes last arrived anywhere,
	// the last of them at lastStallCut: each doubles the silence the
	// next such cut waits for.
	stallCuts    int
	lastStallCut time.Time
}

// maxStallDoublings bounds the doubling of the silence judged while
// nothing arrives anywhere (0.5 s x 2^6 = 32 s: the absolute limits
// judge by then).
const maxStallDoublings = 6

func newSilenceWatch(reports *silence) *silenceWatch {
	return &silenceWatch{reports: reports, conns: map[int]*quiet{}}
}

// observe notes, for each busy segment's attempt, whether anything
// arrived since the last tick.
func (sw *silenceWatch) observe(now time.Time, busy []*Entry) {
	seen := make(map[int]bool, len(busy))
	for _, e := range busy {
		seen[e.ID] = true
		attempt := e.attempts.Load()
		q := sw.conns[e.ID]
		if q == nil || q.attempt != attempt {
			q = &quiet{attempt: attempt, received: e.received.Load(), since: time.Unix(0, e.began.Load())}
			sw.conns[e.ID] = q
		}
		if at := e.answered.Load(); !q.answered && at != 0 {
			q.answered = true
			q.since = time.Unix(0, at)
		}
		if r := e.received.Load(); r > q.received {
			q.received, q.since = r, now
		}
	}
	for id := range sw.conns {
		if !seen[id] {
			delete(sw.conns, id)
		}
	}
}

// silent returns why the current attempt of e should be closed for its
// silence, or nil, and whether nothing arrived anywhere since it went
// quiet. progress is when bytes last arrived on any connection.
func (sw *silenceWatch) silent(now, progress time.Time, e *Entry, busy []*Entry) (cause error, stalled bool) {
	q := sw.conns[e.ID]
	if q == nil || q.cut {
		return nil, false
	}
	var typical time.Duration
	var known bool
	phase, factor, floor := "response headers", time.Duration(answerFactor), answerFloor
	if !q.answered {
		typical, known = sw.reports.typicalAnswer()
	} else {
		phase, factor, floor = "body bytes", silentFactor, silentFloor
		typical, known = sw.reports.typicalBatch(busy, e)
	}
	if !known {
		return nil, false
	}
	limit := max(floor, factor*typical)
	// Nothing arrived anywhere since this connection went quiet: the
	// others are done (the tail of a download), or the server or the
	// path paused for everyone. A new connection may still do better,
	// but each such cut doubles the wait of the next, so that a paused
	// server meets a few new connections, not a storm.
	if stalled = !progress.After(q.since.Add(typical)); stalled {
		limit <<= min(sw.stallCuts, maxStallDoublings)
	}
	silentFor := now.Sub(q.since)
	if silentFor <= limit {
		return nil, stalled
	}
	return fmt.Errorf("%w: no %s for %v, the others' typical wait is %v", ErrSilent, phase,
		silentFor.Round(time.Millisecond), typical.Round(time.Millisecond)), stalled
}

// cutSilent closes the busy connections that have been silent too long,
// within the reconnect budget; progress is when bytes last arrived on any
// connection (zero: never).
func (m *monitor) cutSilent(now, progress time.Time, busy []*Entry) {
	m.silence.observe(now, busy)
	if progress.After(m.silence.lastStallCut) {
		m.silence.stallCuts = 0
	}
	for _, e := range busy {
		if m.reconnects >= m.reconnectsMax {
			return
		}
		cause, stalled := m.silence.silent(now, progress, e, busy)
		if cause == nil || !e.Reconnect(cause) {
			continue
		}
		if stalled {
			m.silence.stallCuts++
			m.silence.lastStallCut = now
		}
		m.silence.conns[e.ID].cut = true
		m.reconnects++
		delete(m.samples, e.ID)
		var rates []float64
		for _, o := range busy {
			if r := o.Rate(); r > 0 {
				rates = append(rates, r)
			}
		}
		ev := newEvent(EventReplace)
		ev.Segment, ev.Offset, ev.Mirror = e.ID, e.Next(), mirrorIndex(e.server.Load())
		ev.Median, ev.Err = medianOf(rates), cause
		m.fetcher.emit(ev)
	}
}
