package clock

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Fake is a Clock that moves only when a test says so (Advance,
// AdvanceToNext): what a rule of the scheduler decides then depends on
// the time the test set, not on how busy the machine is.
//
// Its timers fire in the order of their deadlines, each at its own
// deadline (Now is that deadline while it fires). A timer's channel holds
// its one tick, as time.Timer's does. A ticker's tick is handed over: the
// Advance that fires it waits until the tick is received or the ticker
// stopped, so that a test knows its reader saw every tick, in order; a
// ticker's reader must stop it when it leaves (defer t.Stop()).
//
// One goroutine advances a Fake; any may read it and make timers on it.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	seq     uint64
	pending []*fakeTimer  // timers and tickers not fired (timers) or stopped
	changed chan struct{} // closed when pending changes; guarded by mu
}

// NewFake returns a Fake that reads start until advanced.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start}
}

type fakeTimer struct {
	f      *Fake
	at     time.Time     // the next deadline
	period time.Duration // a ticker's period; 0 for a timer
	seq    uint64        // creation order: ties fire in it
	c      chan time.Time

	stopOnce sync.Once
	stopped  chan struct{} // a ticker's: closed by Stop
}

// Now is the Fake's time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer firing when the Fake reaches Now()+d; at once
// when d <= 0.
func (f *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	f.mu.Lock()
	defer f.mu.Unlock()
	if d <= 0 {
		t.c <- f.now
		return t
	}
	t.at = f.now.Add(d)
	f.addLocked(t)
	return t
}

// NewTicker returns a ticker firing every d of the Fake's time. It
// panics, as time.NewTicker does, when d <= 0.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	t := &fakeTimer{f: f, period: d, c: make(chan time.Time), stopped: make(chan struct{})}
	f.mu.Lock()
	defer f.mu.Unlock()
	t.at = f.now.Add(d)
	f.addLocked(t)
	return fakeTicker{t}
}

// fakeTicker is a fakeTimer with a period, seen as a Ticker.
type fakeTicker struct{ t *fakeTimer }

func (k fakeTicker) C() <-chan time.Time { return k.t.c }
func (k fakeTicker) Stop()               { k.t.Stop() }

func (f *Fake) addLocked(t *fakeTimer) {
	f.seq++
	t.seq = f.seq
	f.pending = append(f.pending, t)
	f.signalLocked()
}

// removeLocked takes t out of pending and reports whether it was there.
func (f *Fake) removeLocked(t *fakeTimer) bool {
	i := slices.Index(f.pending, t)
	if i < 0 {
		return false
	}
	f.pending = slices.Delete(f.pending, i, i+1)
	f.signalLocked()
	return true
}

func (f *Fake) signalLocked() {
	if f.changed != nil {
		close(f.changed)
		f.changed = nil
	}
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

// Stop stops a timer or a ticker; for a timer it reports whether it was
// still to fire.
func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	was := t.f.removeLocked(t)
	t.f.mu.Unlock()
	if t.stopped != nil {
		t.stopOnce.Do(func() { close(t.stopped) })
	}
	return was
}

// Pending is the time left until each timer and ticker waiting on the
// Fake fires, soonest first.
func (f *Fake) Pending() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	left := make([]time.Duration, len(f.pending))
	for i, t := range f.pending {
		left[i] = t.at.Sub(f.now)
	}
	slices.Sort(left)
	return left
}

// WaitPending waits until at least n timers and tickers wait on the
// Fake, or until ctx is done and then returns its error. It is how a test
// knows that the code under test got to a wait of its own.
func (f *Fake) WaitPending(ctx context.Context, n int) error {
	return f.WaitFor(ctx, func(left []time.Duration) bool { return len(left) >= n })
}

// WaitFor waits until ok holds of the time left on the timers and
// tickers waiting on the Fake (soonest first, as Pending), or until ctx
// is done and then returns its error.
func (f *Fake) WaitFor(ctx context.Context, ok func(left []time.Duration) bool) error {
	for {
		f.mu.Lock()
		if f.changed == nil {
			f.changed = make(chan struct{})
		}
		changed := f.changed
		f.mu.Unlock()
		if ok(f.Pending()) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Advance moves the Fake d forward, firing on the way every timer and
// tick due, in the order of their deadlines.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	target := f.now.Add(d)
	f.mu.Unlock()
	for f.fireNext(target) {
	}
	f.mu.Lock()
	if target.After(f.now) {
		f.now = target
	}
	f.mu.Unlock()
}

// AdvanceToNext moves the Fake to the soonest deadline of its timers and
// tickers and fires what is due then; it returns how far it moved, and
// false when nothing was waiting.
func (f *Fake) AdvanceToNext() (time.Duration, bool) {
	f.mu.Lock()
	if len(f.pending) == 0 {
		f.mu.Unlock()
		return 0, false
	}
	from := f.now
	next := f.soonestLocked().at
	f.mu.Unlock()
	f.Advance(next.Sub(from))
	return next.Sub(from), true
}

func (f *Fake) soonestLocked() *fakeTimer {
	var first *fakeTimer
	for _, t := range f.pending {
		if first == nil || t.at.Before(first.at) || (t.at.Equal(first.at) && t.seq < first.seq) {
			first = t
		}
	}
	return first
}

// fireNext fires the soonest timer or tick due by target, and reports
// whether there was one.
func (f *Fake) fireNext(target time.Time) bool {
	f.mu.Lock()
	t := f.soonestLocked()
	if t == nil || t.at.After(target) {
		f.mu.Unlock()
		return false
	}
	if t.at.After(f.now) {
		f.now = t.at
	}
	at := f.now
	if t.period > 0 {
		t.at = t.at.Add(t.period)
		f.signalLocked()
	} else {
		f.removeLocked(t)
	}
	f.mu.Unlock()
	if t.period == 0 {
		t.c <- at // its buffer holds the one tick
		return true
	}
	select {
	case t.c <- at:
	case <-t.stopped:
	}
	return true
}
