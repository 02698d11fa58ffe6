package netfox

import (
	"fmt"
	"strconv"
	"time"
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
	EventRetry EventKind = iota + 1
	// EventOverloaded: the server said it is overloaded (429, 503);
	// the download goes on with fewer connections.
	EventOverloaded
	// EventRangesIgnored: the server answered a range request with
	// something else; the download starts over in one stream.
	EventRangesIgnored
	// EventNoLength: the server does not give the file's length; one
	// stream, which an interruption starts over.
	EventNoLength
	// EventNoRanges: the server does not serve byte ranges; one
	// stream, which an interruption starts over.
	EventNoRanges
	// EventHeadContradicted: HEAD gave another length than a GET
	// serves; the GET is trusted.
	EventHeadContradicted
	// EventRemoteChanged: the remote file changed since the partial
	// download; it starts over.
	EventRemoteChanged
	// EventRemoteChangedMidway: the remote file changed during the
	// download; it starts over.
	EventRemoteChangedMidway
	// EventUnverifiable: the server sends no ETag or Last-Modified, so
	// the partial download cannot be checked; it starts over.
	EventUnverifiable
	// EventMoved: a partial download goes on from a new address,
	// proven to serve the same file.
	EventMoved
	// EventRebooted: the machine rebooted since the partial download;
	// it resumes from the last flushed offsets.
	EventRebooted
	// EventResumed: a partial download resumes; the Text says how much
	// is already here.
	EventResumed
	// EventAlreadyComplete: with Request.Continue, the existing file
	// is already the whole remote file.
	EventAlreadyComplete
	// EventAdopted: with Request.Continue, an existing file is taken
	// over and continued.
	EventAdopted
	// EventMirrorUnusable: a mirror failed its probe; the download
	// goes on without it.
	EventMirrorUnusable
	// EventMirrorNoRanges: a mirror does not serve byte ranges; the
	// download goes on without it.
	EventMirrorNoRanges
	// EventMirrorsUnproven: the mirrors give different ETag or
	// Last-Modified values; only their length shows they hold the same
	// file.
	EventMirrorsUnproven
	// EventMirrorDropped: a mirror failed during the download and is
	// given up; the others go on.
	EventMirrorDropped
	// EventSaveFailed: the progress (the .info file) could not be
	// saved.
	EventSaveFailed
	// EventMtimeFailed: the finished file's modification time could
	// not be set to the remote's Last-Modified.
	EventMtimeFailed
	// EventStreaming: a download to a stream, which an interruption
	// starts over.
	EventStreaming
	// EventCacheFailed: the count -n auto settled at could not be
	// remembered for the host; the download itself is done.
	EventCacheFailed
	// EventOriginFailed: where the finished file came from could not be
	// recorded in its extended attributes (a file system without them
	// records nothing, silently); a re-run cannot prove it complete.
	EventOriginFailed

	// EventSteal: a connection that finished its range took over the far
	// half of a running one ([Offset, Offset+Length) of Segment's range).
	EventSteal
	// EventHedge: near the end, an idle connection fetches the same bytes
	// as a slow one; whichever is first wins.
	EventHedge
	// EventCut: the range a connection was given was cut short, its rest
	// left to another connection.
	EventCut
	// EventReplace: a slow or silent connection was closed and its range
	// given to a new one; Rate is what it delivered.
	EventReplace
	// EventAutoStep: -n auto changed the connection count to Connections,
	// at a measured Rate.
	EventAutoStep
)

var noticeNames = [...]string{
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
}

// String is the kind's name in snake case, as the CLI's --json events
// give it: "retry", "mirror_dropped".
func (k EventKind) String() string {
	if k > 0 && int(k) < len(noticeNames) {
		return noticeNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Notice reports whether an event of kind k is meant for the user (a
// fallback, a fresh start, a retry) rather than for a log of the
// scheduler's work.
func (k EventKind) Notice() bool { return k >= EventRetry && k <= EventOriginFailed }

// notify gives the request's OnEvent an event of kind with its text.
func (d *downloader) notify(kind EventKind, format string, args ...any) {
	d.event(Event{Kind: kind, Text: fmt.Sprintf(format, args...)})
}

// event gives e to the request's OnEvent: the one way the library tells
// anything.
func (d *downloader) event(e Event) {
	if d.req.OnEvent != nil {
		d.req.OnEvent(e)
	}
}
