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
//     needed to deliver a batch (see gather); but not while every other
//     connection in its body is silent as well (when everything stalls,
//     the absolute window judges).
//
// A connection silent for silentFactor times the reference, and at least
// silentFloor, is closed; its range goes on at once on a new connection
// (ErrSilent), the same as a slow connection's: from the byte reached, so
// nothing is written twice. Such cuts share the Run's reconnect budget
// (Fetcher.MaxReconnects), so a link that goes down entirely costs a
// bounded number of them before the absolute limits take over. A
// connection that is slow but steady, like all the others, is never cut:
// its waits are the reference.

const (
	// silentFactor is how many times the typical wait a connection may
	// stay silent.
	silentFactor = 4
	// silentFloor is the shortest silence judged, whatever the others do.
	silentFloor = 500 * time.Millisecond
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

// answered records that the current attempt of s got its response headers.
func (sl *silence) answered(s *Segment) {
	now := time.Now().UnixNano()
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
}

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

// allStalled reports whether there are other connections past their
// headers and none of them received anything after since: then the
// silence is everyone's, the path's or the server's, and a new connection
// would do no better.
func (sw *silenceWatch) allStalled(id int, since time.Time) bool {
	others := false
	for other, q := range sw.conns {
		if other == id || !q.answered || q.cut {
			continue
		}
		if q.since.After(since) {
			return false
		}
		others = true
	}
	return others
}

// silent returns why the current attempt of e should be closed for its
// silence, or nil.
func (sw *silenceWatch) silent(now time.Time, e *Entry, busy []*Entry) error {
	q := sw.conns[e.ID]
	if q == nil || q.cut {
		return nil
	}
	var typical time.Duration
	var known bool
	phase := "response headers"
	if !q.answered {
		typical, known = sw.reports.typicalAnswer()
	} else {
		phase = "body bytes"
		typical, known = sw.reports.typicalBatch(busy, e)
		if known && sw.allStalled(e.ID, q.since.Add(typical)) {
			return nil
		}
	}
	if !known {
		return nil
	}
	silentFor := now.Sub(q.since)
	if silentFor <= max(silentFloor, silentFactor*typical) {
		return nil
	}
	return fmt.Errorf("%w: no %s for %v, the others' typical wait is %v", ErrSilent, phase,
		silentFor.Round(time.Millisecond), typical.Round(time.Millisecond))
}

// cutSilent closes the busy connections that have been silent too long,
// within the reconnect budget.
func (m *monitor) cutSilent(now time.Time, busy []*Entry) {
	m.silence.observe(now, busy)
	for _, e := range busy {
		if m.reconnects >= m.reconnectsMax {
			return
		}
		cause := m.silence.silent(now, e, busy)
		if cause == nil || !e.Reconnect(cause) {
			continue
		}
		m.silence.conns[e.ID].cut = true
		m.reconnects++
		m.lastCut[e.ID] = now
		delete(m.samples, e.ID)
		if m.fetcher.OnReconnect != nil {
			var rates []float64
			for _, o := range busy {
				if r := o.Rate(); r > 0 {
					rates = append(rates, r)
				}
			}
			m.fetcher.OnReconnect(e.Segment, 0, medianOf(rates))
		}
	}
}
