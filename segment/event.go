package segment

import (
	"fmt"
	"time"

	"github.com/netfox/netfox/byterange"
)

// Event is something the scheduler did, told to Fetcher.OnEvent at the
// one place it happens. Kind says what; the other fields are the facts
// of that kind (see EventKind), zero when they do not apply, except
// Segment and Mirror, which are -1 then.
type Event struct {
	Kind EventKind
	// At is when it happened, on the Fetcher's clock.
	At time.Time
	// Segment is the ID of the segment concerned in the Run's Table
	// (Entry.ID): the one retried, stolen from, raced or replaced; -1
	// for an event of the whole Run, or of a Fetch of a bare Segment.
	Segment int
	// Range is the bytes taken (Steal, Cut) or raced (Hedge).
	Range byterange.Range
	// Offset is the byte the segment reached, where its next request
	// starts (Retry, Replace).
	Offset int64
	// Mirror is the index in Fetcher.Mirrors of the mirror concerned
	// (MirrorDropped; Retry and Replace when fetching from one; AutoStep
	// of a search of Auto.PerMirror); -1 for none.
	Mirror int
	// Connections is the number of connections allowed now (Lower) or
	// chosen (AutoStep).
	Connections int
	// Reason is why the count is what it is (AutoStep).
	Reason Reason
	// Rate is in bytes per second: the connection's steady rate
	// (Replace; 0 for a silent one), the aggregate rate measured before
	// the change (AutoStep; 0 when none was yet). Median is the median
	// rate of the Run's connections (Replace).
	Rate, Median float64
	// Wait is how long the segment waits before its next try (Retry).
	Wait time.Duration
	// Err is the cause: the failure retried (Retry), why the connection
	// was closed (Replace: ErrSlowConnection or ErrSilent), why the
	// mirror was given up (MirrorDropped), the overload answer (Lower).
	Err error
}

// EventKind is what an Event tells.
type EventKind int

// The kinds of Event, with the fields each sets beyond Kind and At.
const (
	// EventRetry: an attempt at Segment failed with Err, transiently;
	// the segment tries again from Offset after Wait (also when it ran
	// out of tries and goes back to the table while other connections
	// deliver).
	EventRetry EventKind = iota + 1
	// EventSteal: an idle connection took Range off the busy Segment:
	// bytes that no request of it asked for yet (with Pieces), or
	// without Pieces the far half of its request, cut short.
	EventSteal
	// EventCut: with Pieces, the end-game: an idle connection took Range,
	// the far half of a running request of Segment that would run on for
	// long, cut short.
	EventCut
	// EventHedge: an idle connection races the rest of the busy Segment,
	// Range, too small to split; the first to have it all wins.
	EventHedge
	// EventReplace: the connection of Segment was closed, far slower
	// than the others (Rate, Median; Err ErrSlowConnection) or silent
	// (Rate 0; Err wraps ErrSilent); the segment goes on at once from
	// Offset over a new one.
	EventReplace
	// EventMirrorDropped: mirror Mirror was given up after Err; the
	// others go on.
	EventMirrorDropped
	// EventLower: the server said it is overloaded (Err: a 429, a 503,
	// resets); Connections are allowed from now on.
	EventLower
	// EventAutoStep: -n auto set the count to Connections for Reason
	// (for mirror Mirror with Auto.PerMirror), after measuring Rate; once
	// more with the final Reason when the count stops changing.
	EventAutoStep
)

var eventNames = [...]string{
	EventRetry:         "retry",
	EventSteal:         "steal",
	EventCut:           "cut",
	EventHedge:         "hedge",
	EventReplace:       "replace",
	EventMirrorDropped: "mirror-dropped",
	EventLower:         "lower",
	EventAutoStep:      "auto-step",
}

// String is the kind's name, as "retry" or "mirror-dropped".
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// newEvent is an event of kind about no segment and no mirror.
func newEvent(kind EventKind) Event {
	return Event{Kind: kind, Segment: -1, Mirror: -1}
}

// emit tells OnEvent about e, stamped with the time.
func (f *Fetcher) emit(e Event) {
	if f.OnEvent == nil {
		return
	}
	if e.At.IsZero() {
		e.At = f.clock().Now()
	}
	f.OnEvent(e)
}

// mirrorIndex is m's index in Fetcher.Mirrors, -1 for none.
func mirrorIndex(m *Mirror) int {
	if m == nil {
		return -1
	}
	return m.index
}
