package engine

import (
	"fmt"
	"time"
)

// Event is something that happened in a download (netfox.Event documents
// the kinds and the fields).
type Event struct {
	Kind           EventKind
	Text           string
	Segment        int
	Offset, Length int64
	Wait           time.Duration
	Err            error
	URL            string
	Connections    int
	Rate           float64
}

// EventKind names what an Event reports; netfox names each kind.
type EventKind int

// The kinds, in netfox.EventKind's order: the notices first, up to
// EventOriginFailed, then the scheduler's work.
const (
	EventRetry EventKind = iota + 1
	EventOverloaded
	EventRangesIgnored
	EventNoLength
	EventNoRanges
	EventHeadContradicted
	EventRemoteChanged
	EventRemoteChangedMidway
	EventUnverifiable
	EventMoved
	EventRebooted
	EventResumed
	EventAlreadyComplete
	EventAdopted
	EventMirrorUnusable
	EventMirrorNoRanges
	EventMirrorsUnproven
	EventMirrorDropped
	EventSaveFailed
	EventMtimeFailed
	EventStreaming
	EventCacheFailed
	EventOriginFailed
	EventSteal
	EventHedge
	EventCut
	EventReplace
	EventAutoStep
)

// notify gives the job's OnEvent an event of kind with its text.
func (d *Downloader) notify(kind EventKind, format string, args ...any) {
	d.event(Event{Kind: kind, Text: fmt.Sprintf(format, args...)})
}

// event gives e to the job's OnEvent: the one way the engine tells
// anything.
func (d *Downloader) event(e Event) {
	if d.req.OnEvent != nil {
		d.req.OnEvent(e)
	}
}
