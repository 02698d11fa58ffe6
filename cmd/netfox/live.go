package main

import (
	"sync"
	"time"

	"github.com/netfox/netfox"
)

// live is a download's latest state as Request.OnProgress reports it:
// the one source the view and --json read.
type live struct {
	mu   sync.Mutex
	snap netfox.Snapshot
}

// liveInterval is how often a download reports to its live: the view's
// frame rate.
const liveInterval = 100 * time.Millisecond

// watchLive makes req report its state to a new live.
func watchLive(req *netfox.Request) *live {
	l := &live{snap: netfox.Snapshot{Length: -1, ETA: -1}}
	req.OnProgress, req.ProgressInterval = l.update, liveInterval
	return l
}

func (l *live) update(s netfox.Snapshot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.snap = s
}

// Snapshot is the latest state reported; before the first, one with no
// path and an unknown length.
func (l *live) Snapshot() netfox.Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.snap
}
