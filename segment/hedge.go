package segment

import (
	"context"
	"io"

	"sync/atomic"

	"github.com/netfox/netfox/byterange"
)

// Hedged requests: the last ranges of a download are too small to split,
// and one of them may sit on a slow connection, holding up the end (the
// "99%" of other downloaders). An idle worker then fetches the rest of
// that range as well, into memory; whichever of the two gets there first
// wins. The owner keeps writing while the hedge runs; when the hedge has
// every byte, it takes over what the owner has not reserved yet: the
// owner's End moves down to its reservation, and the hedge writes the
// rest from memory. Both bodies passed the same If-Range and Content-Range
// checks, so they hold the same bytes; none is written twice.

// maxHedgeBytes bounds the memory of one hedge; a range with more left
// is split instead (Table.Take).
const maxHedgeBytes = 512 << 10

// hedgeMinSeconds is how long a range must be expected to take before it
// is worth a second request.
const hedgeMinSeconds = 1.0

// hedgeCandidateLocked returns the busy segment that will take longest,
// when it is worth hedging: measured, expected to take over
// hedgeMinSeconds, small enough to hold in memory (at most maxBytes
// left), and not hedged already.
func (t *Table) hedgeCandidateLocked(maxBytes int64) *Entry {
	typical := t.medianRateLocked()
	if typical <= 0 {
		return nil
	}
	var victim *Entry
	var victimTime float64
	for _, e := range t.all {
		if !e.busy || e.hedged || e.Rate() <= 0 {
			continue
		}
		if secs := expectedSeconds(e, typical); victim == nil || secs > victimTime {
			victim, victimTime = e, secs
		}
	}
	if victim == nil || victimTime < hedgeMinSeconds || victim.Remaining() > maxBytes || victim.Remaining() <= 0 {
		return nil
	}
	victim.hedged = true
	return victim
}

// Hedge picks a segment worth a hedged request and returns it with the
// range to fetch, or nil.
func (t *Table) hedge(maxBytes int64) (*Entry, byterange.Range) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.hedgeCandidateLocked(maxBytes)
	if e == nil {
		return nil, byterange.Range{}
	}
	return e, byterange.Range{Start: e.Next(), End: e.End()}
}

// endHedge lets a segment be hedged again.
func (t *Table) endHedge(e *Entry) {
	t.mu.Lock()
	e.hedged = false
	t.mu.Unlock()
}

// takeOver moves e's End down to its reservation, if that is below end
// and not below start, and in the same step, under the table's lock,
// registers the bytes from there to end as a busy segment of the hedge's,
// wholly reserved: at no instant does a byte of [start, end) belong to no
// segment, or to two. The hedge writes them from memory, then completes
// or releases the segment it was given.
func (t *Table) takeOver(e *Entry, start, end int64) (*Entry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.mu.Lock()
	from := max(e.reserved, e.Start)
	if from >= e.end.Load() || e.end.Load() != end || from < start {
		e.mu.Unlock()
		return nil, false // the owner got there first, or the range changed
	}
	e.end.Store(from)
	e.mu.Unlock()
	h := t.addLocked(from, from, from, end)
	h.busy = true
	h.mu.Lock()
	h.reserved = end // no steal may cut what the hedge is writing
	h.mu.Unlock()
	return h, true
}

// runHedge fetches r of e into memory on the worker's connection and, if
// it completes before the owner, writes what the owner has not reserved.
// It reports whether it wrote anything. Errors end the hedge quietly: the
// owner still has the range.
func (f *Fetcher) runHedge(ctx context.Context, t *Table, e *Entry, r byterange.Range, w *worker) bool {
	defer t.endHedge(e)
	opener := f.Opener
	if w != nil && w.mirror != nil {
		opener = w.mirror.Opener
	}
	// End the hedge as soon as the owner is done: a hedge on a slow or
	// stalled connection must not outlive the race it lost.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			changed := t.Changed()
			if e.Done() {
				cancel()
				return
			}
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
		}
	}()
	if f.Gate != nil {
		release, err := f.Gate(ctx, r, opener)
		if err != nil {
			return false
		}
		defer release()
	}
	// The hedge's connection is watched for stalls as a segment's is.
	rctx, cut := context.WithCancelCause(ctx)
	defer cut(nil)
	var received atomic.Int64
	stopWatch := f.watchStall(&received, cut)
	defer stopWatch()
	body, err := opener.OpenRange(rctx, r)
	if err != nil {
		return false
	}
	defer body.Close()
	// Read through the one read loop (rate limit, counters), into memory.
	buf := make([]byte, 0, r.Len())
	in := &reading{body: body, received: &received, w: w}
	err = f.copyBody(rctx, in, func() int64 {
		if e.Done() {
			return 0 // the owner got there first
		}
		return r.Len() - int64(len(buf))
	}, func(p []byte) (bool, error) {
		buf = append(buf, p...)
		return false, nil
	}, func() error { return io.ErrUnexpectedEOF })
	if err != nil || int64(len(buf)) < r.Len() {
		return false
	}
	h, ok := t.takeOver(e, r.Start, r.End)
	if !ok {
		return false
	}
	from := h.Start
	if _, err := f.Output.WriteAt(buf[from-r.Start:], from); err != nil {
		// Give the range back, unwritten, for a worker to fetch (and
		// meet the error itself).
		h.commit(0)
		t.Release(h)
		return false
	}
	f.wrote(w, r.End-from)
	h.commit(r.End - from)
	t.Release(h)
	return true
}
