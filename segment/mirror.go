package segment

import (
	"sync"
	"sync/atomic"
)

// Mirror is one source of the file in a Run with several
// (Fetcher.Mirrors): the Opener of its address, and what Run did with it.
// Run is the one owner of its state; Written and Dropped may be read
// while Run goes on (a progress report) and once it has returned.
type Mirror struct {
	Opener Opener

	index    int
	written  atomic.Int64 // bytes of it written to the output
	failures atomic.Int64 // transient failures of its connections
	dead     bool         // guarded by mirrorSet.mu
	dropped  atomic.Pointer[dropCause]
}

// dropCause is why a mirror was given up.
type dropCause struct{ err error }

// Written is the number of bytes fetched from the mirror and written to
// the output, counted where Fetcher.Fetched is: the mirrors' shares add
// up to it.
func (m *Mirror) Written() int64 { return m.written.Load() }

// Dropped is the error the mirror was given up for, nil while it serves
// and when it served to the end.
func (m *Mirror) Dropped() error {
	if c := m.dropped.Load(); c != nil {
		return c.err
	}
	return nil
}

// mirrorSet hands out the live mirrors to workers.
type mirrorSet struct {
	mu   sync.Mutex
	all  []*Mirror
	emit func(Event)
}

func newMirrorSet(mirrors []*Mirror, emit func(Event)) *mirrorSet {
	ms := &mirrorSet{all: mirrors, emit: emit}
	for i, m := range mirrors {
		m.index = i
	}
	return ms
}

// pick returns the mirror for worker i (round-robin), nil without mirrors.
func (ms *mirrorSet) pick(i int) *Mirror {
	if len(ms.all) == 0 {
		return nil
	}
	return ms.all[i%len(ms.all)]
}

// dead reports whether m was given up.
func (ms *mirrorSet) dead(m *Mirror) bool {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return m.dead
}

// alive is the number of mirrors not given up.
func (ms *mirrorSet) alive() int {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.aliveLocked()
}

func (ms *mirrorSet) aliveLocked() int {
	n := 0
	for _, m := range ms.all {
		if !m.dead {
			n++
		}
	}
	return n
}

// rotate returns the live mirror after m, or m when it is the only one.
func (ms *mirrorSet) rotate(m *Mirror) *Mirror {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if next := ms.nextAliveLocked(m); next != nil {
		return next
	}
	return m
}

// nextAliveLocked returns the first live mirror after m, going round, m
// itself included last; nil when all are dead.
func (ms *mirrorSet) nextAliveLocked(m *Mirror) *Mirror {
	for k := 1; k <= len(ms.all); k++ {
		if c := ms.all[(m.index+k)%len(ms.all)]; !c.dead {
			return c
		}
	}
	return nil
}

// drop gives up m after err and returns another live mirror, or nil when
// none is left (then err ends the Run). The last mirror is never dropped.
func (ms *mirrorSet) drop(m *Mirror, err error) *Mirror {
	ms.mu.Lock()
	dropped := false
	if !m.dead {
		if ms.aliveLocked() <= 1 {
			ms.mu.Unlock()
			return nil
		}
		m.dead = true
		m.dropped.Store(&dropCause{err})
		dropped = true
	}
	next := ms.nextAliveLocked(m)
	ms.mu.Unlock()
	if dropped {
		ev := newEvent(EventMirrorDropped)
		ev.Mirror, ev.Err = m.index, err
		ms.emit(ev)
	}
	return next
}
