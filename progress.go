package netfox

import (
	"sync"
	"sync/atomic"

	"github.com/netfox/netfox/segment"
)

// Progress lets a UI watch a running download. The download updates it;
// the UI calls Snapshot as often as it likes from another goroutine.
type Progress struct {
	mu      sync.Mutex
	path    string
	length  int64
	table   *segment.Table
	fetched *atomic.Int64
	base    int64 // bytes before the table's ranges, already done (a stream's window)
}

// Snapshot is the state of a download at one instant.
type Snapshot struct {
	// Path is the output file; empty until the download has started.
	Path string
	// Length is the file's size, -1 when the server did not say.
	Length int64
	// Written is the number of bytes in the .part file, resumed ones
	// included.
	Written int64
	// Fetched is the number of bytes received in this run.
	Fetched int64
	// Segments are the ranges of the file, ordered by offset. For a
	// stream (see Stream) they cover only the window being fetched: the
	// bytes below it are done, those above it waiting.
	Segments []segment.Span
}

func (p *Progress) start(path string, length int64, table *segment.Table, fetched *atomic.Int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.path, p.length, p.table, p.fetched, p.base = path, length, table, fetched, 0
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
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Snapshot{Path: p.path, Length: p.length}
	if p.table == nil {
		return s
	}
	s.Segments = p.table.Snapshot()
	s.Written = p.base
	for _, seg := range s.Segments {
		s.Written += seg.Next - seg.Start
	}
	s.Fetched = p.fetched.Load()
	return s
}
