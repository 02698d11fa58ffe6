package netfox

import (
	"strconv"
	"time"

	"github.com/netfox/netfox/internal/engine"
)

// Event is something that happened in a download, given to
// Request.OnEvent as it happens: the one way the library reports how a
// download goes, from a fallback the user should know about to a
// connection taking over another's range. Kind says what happened; Text
// says it in English, with the details, for a person to read; the other
// fields are the facts, where the kind has them.
type Event struct {
	Kind EventKind
	Text string
	// Segment is the segment's ID (Retry, Steal, Hedge, Cut, Replace);
	// Offset the byte the event concerns (the byte a retry goes on from,
	// the start of a range taken over), Length the bytes of that range.
	Segment        int
	Offset, Length int64
	// Wait is how long a retry waits first.
	Wait time.Duration
	// Err is the cause (Retry, Overloaded, MirrorDropped, Replace).
	Err error
	// URL is the address concerned (the mirror kinds).
	URL string
	// Connections is the count of connections after the event
	// (Overloaded, AutoStep).
	Connections int
	// Rate is the connection's or the download's rate in bytes per
	// second, where the event weighs one (Replace, AutoStep).
	Rate float64
}

// EventKind names what an Event reports. A program acts on the kind;
// the Text may be reworded.
type EventKind int

// The kinds of event a download gives. Those up to EventOriginFailed are
// notices, meant for the user (EventKind.Notice); the later ones report
// the scheduler's work, for a program or a log.
const (
	// EventRetry: a request failed and is tried again after Wait; Err
	// says why, Offset is the byte it goes on from (-1 for the first
	// request, which asks about the file).
	EventRetry = EventKind(engine.EventRetry)
	// EventOverloaded: the server said it is overloaded (429, 503);
	// the download goes on with fewer connections.
	EventOverloaded = EventKind(engine.EventOverloaded)
	// EventRangesIgnored: the server answered a range request with
	// something else; the download starts over in one stream.
	EventRangesIgnored = EventKind(engine.EventRangesIgnored)
	// EventNoLength: the server does not give the file's length; one
	// stream, which an interruption starts over.
	EventNoLength = EventKind(engine.EventNoLength)
	// EventNoRanges: the server does not serve byte ranges; one
	// stream, which an interruption starts over.
	EventNoRanges = EventKind(engine.EventNoRanges)
	// EventHeadContradicted: HEAD gave another length than a GET
	// serves; the GET is trusted.
	EventHeadContradicted = EventKind(engine.EventHeadContradicted)
	// EventRemoteChanged: the remote file changed since the partial
	// download; it starts over.
	EventRemoteChanged = EventKind(engine.EventRemoteChanged)
	// EventRemoteChangedMidway: the remote file changed during the
	// download; it starts over.
	EventRemoteChangedMidway = EventKind(engine.EventRemoteChangedMidway)
	// EventUnverifiable: the server sends no ETag or Last-Modified, so
	// the partial download cannot be checked; it starts over.
	EventUnverifiable = EventKind(engine.EventUnverifiable)
	// EventMoved: a partial download goes on from a new address,
	// proven to serve the same file.
	EventMoved = EventKind(engine.EventMoved)
	// EventRebooted: the machine rebooted since the partial download;
	// it resumes from the last flushed offsets.
	EventRebooted = EventKind(engine.EventRebooted)
	// EventResumed: a partial download resumes; the Text says how much
	// is already here.
	EventResumed = EventKind(engine.EventResumed)
	// EventAlreadyComplete: with Request.Continue, the existing file
	// is already the whole remote file.
	EventAlreadyComplete = EventKind(engine.EventAlreadyComplete)
	// EventAdopted: with Request.Continue, an existing file is taken
	// over and continued.
	EventAdopted = EventKind(engine.EventAdopted)
	// EventMirrorUnusable: a mirror failed its probe; the download
	// goes on without it.
	EventMirrorUnusable = EventKind(engine.EventMirrorUnusable)
	// EventMirrorNoRanges: a mirror does not serve byte ranges; the
	// download goes on without it.
	EventMirrorNoRanges = EventKind(engine.EventMirrorNoRanges)
	// EventMirrorsUnproven: the mirrors give different ETag or
	// Last-Modified values; only their length shows they hold the same
	// file.
	EventMirrorsUnproven = EventKind(engine.EventMirrorsUnproven)
	// EventMirrorDropped: a mirror failed during the download and is
	// given up; the others go on.
	EventMirrorDropped = EventKind(engine.EventMirrorDropped)
	// EventSaveFailed: the progress (the .info file) could not be
	// saved.
	EventSaveFailed = EventKind(engine.EventSaveFailed)
	// EventMtimeFailed: the finished file's modification time could
	// not be set to the remote's Last-Modified.
	EventMtimeFailed = EventKind(engine.EventMtimeFailed)
	// EventStreaming: a download to a stream, which an interruption
	// starts over.
	EventStreaming = EventKind(engine.EventStreaming)
	// EventCacheFailed: the count -n auto settled at could not be
	// remembered for the host; the download itself is done.
	EventCacheFailed = EventKind(engine.EventCacheFailed)
	// EventOriginFailed: where the finished file came from could not be
	// recorded in its extended attributes (a file system without them
	// records nothing, silently); a re-run cannot prove it complete.
	EventOriginFailed = EventKind(engine.EventOriginFailed)

	// EventSteal: a connection that finished its range took over the far
	// half of a running one ([Offset, Offset+Length) of Segment's range).
	EventSteal = EventKind(engine.EventSteal)
	// EventHedge: near the end, an idle connection fetches the same bytes
	// as a slow one; whichever is first wins.
	EventHedge = EventKind(engine.EventHedge)
	// EventCut: the range a connection was given was cut short, its rest
	// left to another connection.
	EventCut = EventKind(engine.EventCut)
	// EventReplace: a slow or silent connection was closed and its range
	// given to a new one; Rate is what it delivered.
	EventReplace = EventKind(engine.EventReplace)
	// EventAutoStep: -n auto changed the connection count to Connections,
	// at a measured Rate.
	EventAutoStep = EventKind(engine.EventAutoStep)
)

var kindNames = [...]string{
	EventRetry:               "retry",
	EventOverloaded:          "overloaded",
	EventRangesIgnored:       "ranges_ignored",
	EventNoLength:            "no_length",
	EventNoRanges:            "no_ranges",
	EventHeadContradicted:    "head_contradicted",
	EventRemoteChanged:       "remote_changed",
	EventRemoteChangedMidway: "remote_changed_midway",
	EventUnverifiable:        "unverifiable",
	EventMoved:               "moved",
	EventRebooted:            "rebooted",
	EventResumed:             "resumed",
	EventAlreadyComplete:     "already_complete",
	EventAdopted:             "adopted",
	EventMirrorUnusable:      "mirror_unusable",
	EventMirrorNoRanges:      "mirror_no_ranges",
	EventMirrorsUnproven:     "mirrors_unproven",
	EventMirrorDropped:       "mirror_dropped",
	EventSaveFailed:          "save_failed",
	EventMtimeFailed:         "mtime_failed",
	EventStreaming:           "streaming",
	EventCacheFailed:         "cache_failed",
	EventOriginFailed:        "origin_failed",
	EventSteal:               "steal",
	EventHedge:               "hedge",
	EventCut:                 "cut",
	EventReplace:             "replace",
	EventAutoStep:            "auto_step",
}

// String is the kind's name in snake case, as the CLI's --json events
// give it: "retry", "mirror_dropped".
func (k EventKind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Notice reports whether an event of kind k is meant for the user (a
// fallback, a fresh start, a retry) rather than for a log of the
// scheduler's work.
func (k EventKind) Notice() bool { return k >= EventRetry && k <= EventOriginFailed }

// eventOf is the engine's event as the API gives it.
func eventOf(e engine.Event) Event {
	out := Event{Kind: EventKind(e.Kind), Text: e.Text, Segment: e.Segment, Offset: e.Offset, Length: e.Length,
		Wait: e.Wait, URL: e.URL, Connections: e.Connections, Rate: e.Rate}
	if e.Err != nil {
		out.Err = public(e.Err)
	}
	return out
}
