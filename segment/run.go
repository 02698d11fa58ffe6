package segment

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/netfox/netfox/internal/clock"
	"github.com/netfox/netfox/internal/syserr"
	"github.com/netfox/netfox/retry"
)

// Run fetches every segment of table over conns parallel workers (one
// connection each) and returns when all bytes are written or the first
// permanent error stops the rest. A worker whose segment is done takes
// the next idle one, else cuts a piece off the busiest (Table.Take), so
// the workers stay busy to the end.
//
// A segment that runs out of tries on a transient failure goes back to
// the table for the next free connection as long as some connection got
// bytes within f.StallWindow: one bad connection does not end a download
// that others carry on. Run fails when nothing arrives for that long.
//
// When the server says it is overloaded (429, 503) or keeps resetting
// connections, Run lowers the number of workers by one per such answer,
// down to one, rather than hammer it: the worker beyond the new count
// hands its segment back and stops at once.
//
// With f.Auto set, conns is where the count starts, and Run searches for
// it (see Auto); a connection given back hands its segment back at once.
// With f.Auto.PerMirror set for f.Mirrors, each mirror has workers and a
// search of its own, measured on the bytes its connections bring.
func Run(ctx context.Context, table *Table, f *Fetcher, conns int) error {
	conns = max(conns, 1)
	table.pieces = f.Pieces != nil
	clk := f.clock()
	p := &pool{emit: f.emit, table: table}
	ms := newMirrorSet(f.Mirrors, f.emit)
	reports := &silence{}
	_, stallWindow := f.stallRule()
	if a := f.Auto; a != nil && len(ms.all) > 1 && len(a.PerMirror) == len(ms.all) {
		for i, m := range ms.all {
			p.addCrew(a.PerMirror[i], cmp.Or(a.PerMirror[i].Start, conns), m, ms, reports)
		}
	} else {
		p.addCrew(f.Auto, conns, nil, ms, reports)
	}
	var workers []*worker
	for _, c := range p.crews {
		workers = append(workers, c.workers...) // c.workers is reordered under p.mu
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, w := range workers {
		g.Go(func() error {
			for gctx.Err() == nil && !w.gone() {
				changed := table.Changed()
				if w.retired() {
					// Above the count for now: wait until it rises or
					// the download ends.
					wake := p.changed()
					if table.Remaining() == 0 {
						return nil
					}
					select {
					case <-changed:
					case <-wake:
					case <-gctx.Done():
					}
					continue
				}
				e, stolen := table.take()
				if stolen.Kind != 0 {
					f.emit(stolen)
				}
				if e == nil {
					if table.Remaining() == 0 {
						return nil
					}
					// Everything left is being fetched in pieces too small
					// to split. Race the slowest of them, if it is worth it.
					if h, r := table.hedge(maxHedgeBytes); h != nil {
						ev := newEvent(EventHedge)
						ev.Segment, ev.Range = h.ID, r
						f.emit(ev)
						f.runHedge(gctx, table, h, r, w)
						continue
					}
					// Else wait for a segment to come back, or for the
					// rates to make a tail split worth it.
					recheck := clk.NewTimer(idleRecheck)
					select {
					case <-changed:
					case <-recheck.C():
					case <-gctx.Done():
					}
					recheck.Stop()
					continue
				}
				w.entry.Store(e)
				err := f.fetch(gctx, e.Segment, w)
				w.entry.Store(nil)
				if errors.Is(err, errRetired) {
					table.GiveBack(e)
					continue
				}
				table.Release(e)
				if err != nil && gctx.Err() == nil && w.mirror != nil {
					// Give up this mirror and go on with another, if any.
					if w.mirror = ms.drop(w.mirror, err); w.mirror != nil {
						if w.crew.mirror != nil {
							return nil // its crew's mirror is gone; the others go on
						}
						continue
					}
				}
				if err != nil && gctx.Err() == nil && p.handBack(err, stallWindow, clk.Now()) {
					// The segment ran out of tries, but other connections
					// are getting bytes: the fault is this range's luck
					// (a bad connection, a bad node behind a balancer),
					// not the download's. Its range goes back to the table
					// for the next free connection, after a pause.
					wait := f.backoff(f.maxTries(), err)
					f.emitRetry(e.Segment, w, err, wait)
					if clock.Sleep(gctx, clk, wait) != nil {
						return gctx.Err()
					}
					continue
				}
				if err != nil {
					return err
				}
			}
			return gctx.Err()
		})
	}
	stop := make(chan struct{})
	monitorDone := make(chan struct{})
	go func() {
		defer close(monitorDone)
		newMonitor(table, f, p, len(workers), reports).run(stop)
	}()
	err := g.Wait()
	close(stop)
	<-monitorDone
	if err == nil && table.Remaining() > 0 {
		err = errors.New("internal error: workers stopped with bytes remaining")
	}
	return err
}

// idleRecheck is how often a worker with nothing to do looks again for a
// segment worth splitting.
const idleRecheck = 250 * time.Millisecond

// monitorTick is how often the monitor samples the segments' progress.
const monitorTick = 100 * time.Millisecond

// monitor measures the rate of every segment's connection, for the
// choice of which segment to split, and reconnects the connections that
// stay far below the others (slow.go) or silent (silent.go).
type monitor struct {
	table         *Table
	pool          *pool
	fetcher       *Fetcher
	window        time.Duration
	ratio         float64
	reconnect     bool
	reconnectsMax int

	autos      []*autoDriver     // one per crew with Auto; none for a fixed count
	samples    map[int][]sample  // per entry ID, oldest first, one attempt
	slowSince  map[int]slowStart // per entry ID: since when its connection runs slow
	trials     map[int]slowTrial // per entry ID: a replacement whose successor is not measured yet
	futile     map[*Mirror]bool  // servers where a replacement gave no faster successor
	reconnects int
	silence    *silenceWatch
}

type sample struct {
	at      time.Time
	next    int64
	attempt int64
}

func newMonitor(table *Table, f *Fetcher, p *pool, conns int, reports *silence) *monitor {
	m := &monitor{
		table: table, fetcher: f, pool: p,
		window: f.SlowWindow, ratio: f.SlowRatio, reconnect: f.SlowWindow >= 0,
		reconnectsMax: f.MaxReconnects,
		samples:       map[int][]sample{},
		slowSince:     map[int]slowStart{},
		trials:        map[int]slowTrial{},
		futile:        map[*Mirror]bool{},
		silence:       newSilenceWatch(reports),
	}
	if m.window <= 0 {
		m.window = DefaultSlowWindow
	}
	if m.ratio <= 1 {
		m.ratio = DefaultSlowRatio
	}
	if m.reconnectsMax <= 0 {
		m.reconnectsMax = reconnectsPerConnection * conns
	}
	for _, c := range p.crews {
		if c.auto != nil {
			m.autos = append(m.autos, newAutoDriver(c.auto, c, f.clock().Now(), f.emit))
		}
	}
	return m
}

func (m *monitor) run(stop <-chan struct{}) {
	tick := m.fetcher.clock().NewTicker(monitorTick)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			for _, a := range m.autos {
				a.finish()
			}
			return
		case now := <-tick.C():
			m.sample(now)
		}
	}
}

// sample cuts the silent connections, records each busy segment's
// progress, updates its rate, and replaces those the slow rule judges
// worth it (judgeSlow).
func (m *monitor) sample(now time.Time) {
	var progress time.Time // when bytes last arrived anywhere; zero: never
	if since, ok := m.pool.observe(now); ok {
		progress = now.Add(-since)
	}
	for _, a := range m.autos {
		if !a.crew.lost() {
			a.sample(now, a.crew.arrived())
		}
	}
	busy := m.table.busyEntries()
	m.cutSilent(now, progress, busy)
	var full []measured
	seen := make(map[int]bool, len(busy))
	for _, e := range busy {
		seen[e.ID] = true
		attempt := e.attempts.Load()
		hist := m.samples[e.ID]
		if len(hist) > 0 && hist[len(hist)-1].attempt != attempt {
			hist = nil // a new connection: measure it afresh
		}
		hist = append(hist, sample{at: now, next: e.received.Load(), attempt: attempt})
		// Keep one sample at least a window old, and those after it.
		for len(hist) >= 2 && now.Sub(hist[1].at) >= m.window {
			hist = hist[1:]
		}
		m.samples[e.ID] = hist
		first, last := hist[0], hist[len(hist)-1]
		span := last.at.Sub(first.at)
		if span <= 0 {
			continue
		}
		rate := float64(last.next-first.next) / span.Seconds()
		e.setRate(rate)
		if span >= m.window-monitorTick/2 {
			// Steady once the window began a window after the answer:
			// past a first-second burst or slow start.
			answered := e.answered.Load()
			steady := answered != 0 && !first.at.Before(time.Unix(0, answered).Add(m.window))
			full = append(full, measured{e: e, attempt: attempt, rate: rate, steady: steady})
		}
	}
	for id := range m.samples {
		if !seen[id] {
			delete(m.samples, id)
			delete(m.slowSince, id)
			delete(m.trials, id) // finished before its successor was measured
		}
	}
	m.judgeSlow(now, full)
}

// judgeSlow replaces the connections that the slow-connection rule
// (slow.go) judges worth it, and settles the trials of earlier
// replacements whose successors are now measured.
func (m *monitor) judgeSlow(now time.Time, full []measured) {
	rule := slowRule{Window: m.window, Ratio: m.ratio}
	var rates []float64
	for _, f := range full {
		if f.steady {
			rates = append(rates, f.rate)
		}
	}
	median := medianOf(rates)
	for _, f := range full {
		if !f.steady {
			continue
		}
		id := f.e.ID
		if t, ok := m.trials[id]; ok && f.attempt > t.attempt {
			if !successorFaster(t.rate, f.rate) {
				m.futile[t.server] = true
			}
			delete(m.trials, id)
		}
		st := m.slowSince[id]
		if !rule.isSlow(f.rate, median) || st.attempt != f.attempt {
			delete(m.slowSince, id)
			if rule.isSlow(f.rate, median) {
				m.slowSince[id] = slowStart{attempt: f.attempt, at: now}
			}
			st = m.slowSince[id]
		}
		var slowFor time.Duration
		if !st.at.IsZero() {
			slowFor = now.Sub(st.at) + m.window // the window that showed it first
		}
		server := f.e.server.Load()
		verdict := judgeSlow(slowFacts{
			Steady: true, Rate: f.rate, Median: median, Peers: len(rates), SlowFor: slowFor,
			Remaining: f.e.Remaining(), Futile: m.futile[server], Budget: m.reconnects < m.reconnectsMax,
		}, rule)
		if verdict != slowReplace || !m.reconnect || !f.e.Reconnect(ErrSlowConnection) {
			continue
		}
		m.reconnects++
		delete(m.samples, id)
		delete(m.slowSince, id)
		m.trials[id] = slowTrial{attempt: f.attempt, rate: f.rate, server: server}
		ev := newEvent(EventReplace)
		ev.Segment, ev.Offset, ev.Mirror = id, f.e.Next(), mirrorIndex(server)
		ev.Rate, ev.Median, ev.Err = f.rate, median, ErrSlowConnection
		m.fetcher.emit(ev)
	}
}

// slowStart is when a connection (an attempt of a segment) was first
// measured slow, without a break since.
type slowStart struct {
	attempt int64
	at      time.Time
}

// slowTrial is a replacement whose successor is not measured yet: the
// attempt replaced, its steady rate, and its server (nil for the one
// source of a Run without mirrors).
type slowTrial struct {
	attempt int64
	rate    float64
	server  *Mirror
}

// measured is a busy segment's connection as the monitor measured it
// over a full window: its rate, and whether that window lay past the
// connection's warm-up (its steady rate, what the slow rule judges).
type measured struct {
	e       *Entry
	attempt int64
	rate    float64
	steady  bool
}

// pool is how many of a Run's workers may go on, in crews, and when the
// download last made progress.
type pool struct {
	resets atomic.Int64
	emit   func(Event)
	// lowerMu keeps the Lower events in the order of the lowerings:
	// taken before mu is let go, held while they are told (outside mu).
	lowerMu sync.Mutex
	table   *Table
	crews   []*crew // set before the workers start

	mu           sync.Mutex
	received     int64         // the table's arrivals at the last observation
	lastProgress time.Time     // when they last grew; zero: never
	wake         chan struct{} // closed when a crew's allowed changes
}

// crew is a set of a Run's workers with a count of its own: all of
// them, or with Auto.PerMirror those of one mirror.
type crew struct {
	pool *pool
	// allowed is how many workers may fetch now; ceiling how many may
	// ever again (a worker at or above it ends). Both change under
	// pool.mu.
	allowed atomic.Int64
	ceiling atomic.Int64
	workers []*worker // by index, reordered under pool.mu
	auto    *Auto     // nil: a fixed count
	// mirror, when set, is the one mirror the crew's workers fetch
	// from, and received counts the bytes they brought.
	mirror   *Mirror
	mirrors  *mirrorSet
	received atomic.Int64
}

// addCrew adds a crew that starts with start workers fetching: all it
// ever has with a fixed count, else up to auto's Max. Its workers fetch
// from pinned, or without it from the mirrors in turn.
func (p *pool) addCrew(auto *Auto, start int, pinned *Mirror, ms *mirrorSet, reports *silence) {
	size := max(start, 1)
	if auto != nil {
		size = auto.max()
	}
	c := &crew{pool: p, auto: auto, mirror: pinned, mirrors: ms}
	c.allowed.Store(int64(min(max(start, 1), size)))
	c.ceiling.Store(int64(size))
	c.workers = make([]*worker, size)
	for i := range size {
		m := pinned
		if m == nil {
			m = ms.pick(i)
		}
		c.workers[i] = &worker{pool: p, crew: c, mirrors: ms, mirror: m, silence: reports}
		c.workers[i].index.Store(int64(i))
	}
	p.crews = append(p.crews, c)
}

// arrived is the bytes that arrived over the crew's connections: the
// table's when it is the only crew.
func (c *crew) arrived() int64 {
	if c.mirror == nil {
		return c.pool.table.received()
	}
	return c.received.Load()
}

// lost reports whether the crew's mirror was given up.
func (c *crew) lost() bool { return c.mirror != nil && c.mirrors.dead(c.mirror) }

// observe notes the time if bytes arrived since the last observation, and
// reports how long ago bytes last arrived (ok false: none so far). The
// monitor calls it on every tick and a worker before handing a range back.
func (p *pool) observe(now time.Time) (since time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if total := p.table.received(); total > p.received {
		p.received, p.lastProgress = total, now
	}
	if p.lastProgress.IsZero() {
		return 0, false
	}
	return now.Sub(p.lastProgress), true
}

// changed returns a channel closed at the next change of a crew's
// allowed.
func (p *pool) changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.wake == nil {
		p.wake = make(chan struct{})
	}
	return p.wake
}

// wakeLocked closes the channel of changed.
func (p *pool) wakeLocked() {
	if p.wake != nil {
		close(p.wake)
		p.wake = nil
	}
}

// allowedLocked is how many workers of all crews may fetch now.
func (p *pool) allowedLocked() int {
	n := 0
	for _, c := range p.crews {
		n += int(c.allowed.Load())
	}
	return n
}

// setAllowed lets n of the crew's workers fetch (never more than the
// ceiling): the ones above n stop, their connections cut and their
// segments handed back, and parked ones below n go on.
func (c *crew) setAllowed(n int) {
	p := c.pool
	p.mu.Lock()
	n = max(1, min(n, int(c.ceiling.Load())))
	old := int(c.allowed.Swap(int64(n)))
	p.wakeLocked()
	cut := slices.Clone(c.workers[min(n, old):old])
	p.mu.Unlock()
	// Their segments go back to the table (or to the connection they
	// were cut from).
	for _, w := range cut {
		if e := w.entry.Load(); e != nil {
			e.Reconnect(errRetired)
		}
	}
}

// handBack reports whether a segment that failed with err at now should
// go back to the table rather than end the download: err is transient and
// some connection got bytes within window (none at all so far: no). With
// the window off (<= 0) a segment out of tries ends the download.
func (p *pool) handBack(err error, window time.Duration, now time.Time) bool {
	if retry.IsPermanent(err) || window <= 0 {
		return false
	}
	since, ok := p.observe(now)
	return ok && since < window
}

// resetsPerLowering is how many connection resets count as one "server
// overloaded" answer. (A refused connection does not count: it is how a
// mirror that went away answers, and that mirror is dropped instead.)
const resetsPerLowering = 3

// note lowers the number of w's crew's workers by one, and caps it there
// for the rest of the Run, when err, which w got, says the server is overloaded:
// a 429 or 503, or every third connection reset. The worker
// that goes is w, which holds no request the server counts, rather than
// the last one, which may be fetching well: w trades places with it.
func (p *pool) note(err error, w *worker) {
	overloaded := retry.IsOverloaded(err)
	if !overloaded && syserr.ConnReset(err) {
		overloaded = p.resets.Add(1)%resetsPerLowering == 0
	}
	if !overloaded {
		return
	}
	c := w.crew
	p.mu.Lock()
	n := c.allowed.Load()
	if n <= 1 {
		p.mu.Unlock()
		return
	}
	c.allowed.Store(n - 1)
	c.ceiling.Store(min(c.ceiling.Load(), n-1))
	if i := w.index.Load(); i < n-1 {
		last := c.workers[n-1]
		c.workers[i], c.workers[n-1] = last, w
		last.index.Store(i)
		w.index.Store(n - 1)
	}
	p.wakeLocked()
	total := p.allowedLocked()
	p.lowerMu.Lock()
	defer p.lowerMu.Unlock()
	p.mu.Unlock()
	ev := newEvent(EventLower)
	ev.Connections, ev.Err = total, err
	p.emit(ev)
}

// worker is one of a Run's connections.
type worker struct {
	pool *pool
	crew *crew
	// index is the worker's place in crew.workers: it fetches while
	// index < crew.allowed. Changed under pool.mu.
	index   atomic.Int64
	mirrors *mirrorSet
	mirror  *Mirror               // the worker's current source; nil without mirrors
	entry   atomic.Pointer[Entry] // the segment it fetches; nil between segments
	silence *silence
}

// retired reports whether its crew was lowered below this worker.
func (w *worker) retired() bool { return w.index.Load() >= w.crew.allowed.Load() }

// gone reports whether its crew can never come back up to this worker,
// or lost its mirror.
func (w *worker) gone() bool { return w.index.Load() >= w.crew.ceiling.Load() || w.crew.lost() }

// errRetired ends a worker's fetch when the pool was lowered below it.
var errRetired = errors.New("worker retired: fewer connections wanted")
