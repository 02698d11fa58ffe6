package netfox

import (
	"time"

	"github.com/netfox/netfox/internal/engine"
)

// Snapshot is the state of a download at one instant.
type Snapshot struct {
	// Path is the output file; empty until the download has started.
	Path string
	// Length is the file's size, -1 when the server did not say or the
	// download has not started.
	Length int64
	// Written is the number of bytes in the .part file, resumed ones
	// included.
	Written int64
	// Fetched is the number of bytes received in this run.
	Fetched int64
	// Rate is the speed in bytes per second over the last few seconds
	// (since the start when there are fewer); 0 before the first bytes.
	Rate float64
	// ETA is the time left at Rate; -1 when unknown (no length, no rate).
	ETA time.Duration
	// Connections is the number of connections fetching now.
	Connections int
	// Sources are the addresses being fetched from, URL first, each with
	// its share of Fetched and its Rate, when the download has mirrors;
	// nil for one address.
	Sources []SourceState
	// Segments are the ranges of the file, ordered by offset. For a
	// stream (see Stream) they cover only the window being fetched: the
	// bytes below it are done, those above it waiting.
	Segments []Span
}

// SourceState is one address of a download with mirrors, as it runs.
type SourceState struct {
	// URL is the address, without its password.
	URL string
	// Fetched is what it served in this run; Rate its bytes per second
	// over the last few seconds.
	Fetched int64
	Rate    float64
	// Dropped reports that it failed and was given up.
	Dropped bool
}

// Span is one segment of a download: bytes [Start, End) of the file, of
// which [Start, Next) are written (and [Start, Synced) flushed to disk).
// Busy is set while a connection is fetching it.
type Span struct {
	ID                       int
	Start, Next, Synced, End int64
	Busy                     bool
}

// Percent is Written as a share of Length, 0 to 100; 0 when the length
// is unknown.
func (s Snapshot) Percent() float64 {
	if s.Length <= 0 {
		return 0
	}
	return 100 * float64(s.Written) / float64(s.Length)
}

// snapshotOf is the engine's snapshot as the API gives it.
func snapshotOf(s engine.Snapshot) Snapshot {
	out := Snapshot{Path: s.Path, Length: s.Length, Written: s.Written, Fetched: s.Fetched, Rate: s.Rate, ETA: s.ETA, Connections: s.Connections}
	for _, sp := range s.Segments {
		out.Segments = append(out.Segments, Span(sp))
	}
	for _, src := range s.Sources {
		out.Sources = append(out.Sources, SourceState(src))
	}
	return out
}

// reportProgress calls req.OnProgress with p's state every
// req.ProgressInterval until the function it returns is called, which
// makes the last call. req is normalised (Request.Normalized): a zero or
// negative interval the caller gave is the default by then.
func reportProgress(req Request, p *engine.Progress) (stop func()) {
	if req.OnProgress == nil {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(req.ProgressInterval)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				req.OnProgress(snapshotOf(p.Snapshot()))
				return
			case <-tick.C:
				if snap := snapshotOf(p.Snapshot()); snap.Path != "" {
					req.OnProgress(snap)
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}
