package segment

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netfox/netfox/byterange"
)

// Segment is one range of the output being fetched. Bytes [Start, Next) are
// written to the output; bytes [Next, End) remain. Next only grows, and only
// after the bytes below it were handed to the writer, so a snapshot never
// claims a byte that was not written.
//
// End can shrink while the segment is being fetched, when another worker
// takes over its far part (see cutFarHalf) or a hedge wins it. The fetcher
// reserves each chunk under mu once it has arrived and before writing it,
// so End never moves below a byte being written.
type Segment struct {
	Start int64

	// id is the ID of its Entry in a Table, -1 outside one (what events
	// name it by).
	id int

	next atomic.Int64
	end  atomic.Int64

	mu       sync.Mutex
	reserved int64 // bytes [next, reserved) are being written; guarded by mu
	// cut ends the current attempt (its connection) with a cause; nil
	// between attempts. Guarded by mu.
	cut context.CancelCauseFunc
	// asked is the end of the range the current attempt requested; 0
	// between attempts. Guarded by mu.
	asked int64
	// attempts counts the attempts started, so that a rate is only
	// measured over one connection.
	attempts atomic.Int64
	// received counts the bytes that arrived for the segment, written
	// or not yet: what its connection's rate is measured on.
	received atomic.Int64
	// began and answered are when the current attempt started and when
	// its response headers came (0 before), in Unix nanoseconds, and
	// slowestBatch the longest its connection took for a batch (ns, 0
	// before the first): what the silence watch judges a request on.
	began, answered, slowestBatch atomic.Int64
	// server is the mirror the current or last attempt fetches from,
	// nil without mirrors: the slow rule judges servers apart.
	server atomic.Pointer[Mirror]
}

// New returns a segment over [start, end) with next bytes already written
// (start <= next <= end).
func New(start, next, end int64) *Segment {
	s := &Segment{Start: start, id: -1}
	s.next.Store(next)
	s.end.Store(end)
	s.reserved = next
	return s
}

// Next is the first byte not yet written.
func (s *Segment) Next() int64 { return s.next.Load() }

// End is the exclusive end of the segment.
func (s *Segment) End() int64 { return s.end.Load() }

// Remaining is the number of bytes still to fetch.
func (s *Segment) Remaining() int64 { return s.End() - s.Next() }

// Done reports whether every byte of the segment is written.
func (s *Segment) Done() bool { return s.Next() >= s.End() }

// reserve claims up to max bytes starting at Next for writing and returns
// how many it claimed (0 when the segment is complete).
func (s *Segment) reserve(max int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(max, s.end.Load()-s.reserved)
	if n < 0 {
		n = 0
	}
	s.reserved += n
	return n
}

// commit records that n bytes at Next were written and gives back the rest
// of the reservation (a read may return fewer bytes than reserved).
func (s *Segment) commit(n int64) {
	s.mu.Lock()
	s.reserved = s.next.Add(n)
	s.mu.Unlock()
}

// beginAttempt records the cancel function of a new attempt (a
// connection) that begins now; its requests are recorded by askPiece.
func (s *Segment) beginAttempt(cut context.CancelCauseFunc, now time.Time) {
	s.mu.Lock()
	s.cut, s.asked = cut, 0
	s.mu.Unlock()
	s.answered.Store(0)
	s.slowestBatch.Store(0)
	s.began.Store(now.UnixNano())
	s.attempts.Add(1)
}

// askPiece records a request of the current attempt for up to max bytes
// from Next and returns its range; ok is false when the segment is done.
// Under the lock, so that a steal sees either the request or none: the
// bytes beyond it are free to take without cutting it (cutUnrequested).
func (s *Segment) askPiece(max int64) (r byterange.Range, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r = byterange.Range{Start: s.next.Load(), End: s.end.Load()}
	if r.Len() <= 0 {
		return byterange.Range{}, false
	}
	if max > 0 {
		r.End = min(r.End, r.Start+max)
	}
	s.asked = r.End
	return r, true
}

// endAttempt forgets the attempt's cancel function.
func (s *Segment) endAttempt() {
	s.mu.Lock()
	s.cut, s.asked = nil, 0
	s.mu.Unlock()
}

// extend moves End from from up to to when an attempt is running whose
// request covers the bytes up to to, so that its connection fetches them
// too (a range cut off it comes back). It reports whether it did.
func (s *Segment) extend(from, to int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cut == nil || s.end.Load() != from || to > s.asked {
		return false
	}
	s.end.Store(to)
	return true
}

// empty moves End down to Next, for a segment that nobody fetches (its
// range went to another segment).
func (s *Segment) empty() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.end.Store(s.next.Load())
	s.reserved = s.next.Load()
}

// Reconnect ends the current attempt with cause, so that the fetcher
// retries the rest of the range at once on a new connection. It reports
// whether an attempt was running.
func (s *Segment) Reconnect(cause error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cut == nil {
		return false
	}
	s.cut(cause)
	return true
}

// cutUnrequested moves End down so as to cut off bytes that no running
// request of the segment asked for, and returns the range cut off: the
// far half of them when that holds at least minSplit bytes, else all of
// them when they do and a request is running. A request is never cut short by it, so no byte the
// server already sent is dropped and its connection is kept.
func (s *Segment) cutUnrequested(minSplit int64) (byterange.Range, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	end := s.end.Load()
	from := max(s.reserved, s.asked)
	free := end - from
	switch {
	case free/2 >= minSplit && free/2 > 0:
		from = end - free/2
	case free < minSplit || free <= 0 || s.asked <= s.reserved:
		// Too little, or no request running that would leave its
		// owner something to do.
		return byterange.Range{}, false
	}
	s.end.Store(from)
	return byterange.Range{Start: from, End: end}, true
}

// cutFarHalf moves End down to the middle of the bytes not yet reserved,
// if that half holds at least minSplit bytes, and returns the range cut
// off. Working from the reservation under the lock, it cannot race with
// the owner's writes.
func (s *Segment) cutFarHalf(minSplit int64) (byterange.Range, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	end := s.end.Load()
	half := (end - s.reserved) / 2
	if half < minSplit || half <= 0 {
		return byterange.Range{}, false
	}
	mid := end - half
	s.end.Store(mid)
	return byterange.Range{Start: mid, End: end}, true
}
