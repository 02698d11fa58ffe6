package engine

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/netfox/netfox/segment"
)

// Progress is the live state of a download (netfox.Progress): the
// download updates it, a UI reads Snapshot from another goroutine. Its
// zero value is ready to use; a nil *Progress records nothing.
type Progress struct {
	mu      sync.Mutex
	path    string
	length  int64
	table   *segment.Table
	fetched *atomic.Int64
	began   time.Time
	// samples are recent (time, fetched) pairs, for the rate.
	samples []progressSample
	base    int64 // bytes before the table's ranges, already done (a stream's window)
	// sources are the addresses of a ranged download, URL first.
	sources []*source
}

type progressSample struct {
	at      time.Time
	fetched int64
	sources []int64 // each source's share of fetched, with several
}

// rateWindow is the span of recent samples the rate is measured over.
const rateWindow = 5 * time.Second

// Snapshot is the state of a download at one instant (netfox.Snapshot
// documents each field).
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
	// Sources are the addresses being fetched from, URL first, with
	// their share of Fetched and their rate; nil for one address.
	Sources []SourceState
	// Segments are the ranges of the file, ordered by offset. For a
	// stream (see Stream) they cover only the window being fetched: the
	// bytes below it are done, those above it waiting.
	Segments []Span
}

// SourceState is what one address of a download with mirrors has served
// (netfox.SourceState).
type SourceState struct {
	URL     string
	Fetched int64
	Rate    float64
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

func (p *Progress) start(path string, length int64, table *segment.Table, fetched *atomic.Int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.path, p.length, p.table, p.fetched, p.base = path, length, table, fetched, 0
	p.began, p.samples, p.sources = time.Now(), nil, nil
}

// useSources records the addresses of a ranged download with mirrors.
func (p *Progress) useSources(sources []*source) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(sources) > 1 {
		p.sources = sources
	}
}

// window moves a stream's progress on to the next window: the bytes
// below base are done, table holds the ranges being fetched.
func (p *Progress) window(base int64, table *segment.Table) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.base, p.table = base, table
}

// Snapshot returns the current state.
func (p *Progress) Snapshot() Snapshot {
	if p == nil {
		return Snapshot{Length: -1, ETA: -1}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Snapshot{Path: p.path, Length: p.length, ETA: -1}
	if p.table == nil {
		s.Length = -1
		return s
	}
	s.Written = p.base
	for _, seg := range p.table.Snapshot() {
		s.Segments = append(s.Segments, Span{ID: seg.ID, Start: seg.Start, Next: seg.Next, Synced: seg.Synced, End: seg.End, Busy: seg.Busy})
		s.Written += seg.Next - seg.Start
		if seg.Busy {
			s.Connections++
		}
	}
	s.Fetched = p.fetched.Load()
	shares := make([]int64, len(p.sources))
	for i, src := range p.sources {
		shares[i] = src.mirror.Written()
	}
	var rates []float64
	s.Rate, rates = p.rate(progressSample{at: time.Now(), fetched: s.Fetched, sources: shares})
	for i, src := range p.sources {
		s.Sources = append(s.Sources, SourceState{URL: src.url, Fetched: shares[i], Rate: rates[i], Dropped: src.mirror.Dropped() != nil})
	}
	if s.Length >= 0 && s.Rate > 0 {
		s.ETA = time.Duration(float64(s.Length-s.Written) / s.Rate * float64(time.Second)).Round(time.Second)
	}
	return s
}

// rate records a sample and returns the bytes per second since the
// oldest sample of the window, or since the start: of the whole, and of
// each source.
func (p *Progress) rate(now progressSample) (float64, []float64) {
	for len(p.samples) > 0 && now.at.Sub(p.samples[0].at) > rateWindow {
		p.samples = p.samples[1:]
	}
	if len(p.samples) >= 64 {
		p.samples = p.samples[1:]
	}
	from := progressSample{at: p.began}
	if len(p.samples) > 0 && now.at.Sub(p.samples[0].at) >= time.Second {
		from = p.samples[0]
	}
	p.samples = append(p.samples, now)
	rates := make([]float64, len(now.sources))
	dt := now.at.Sub(from.at).Seconds()
	if dt <= 0 {
		return 0, rates
	}
	for i, n := range now.sources {
		if i < len(from.sources) {
			n -= from.sources[i]
		}
		rates[i] = float64(n) / dt
	}
	return float64(now.fetched-from.fetched) / dt, rates
}
