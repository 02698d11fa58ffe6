package segment

import (
	"math"
	"time"
)

// Auto makes Run find its number of connections by measurement instead
// of using a fixed one: it starts at Run's count, adds connections while
// each step raises the aggregate rate of arriving bytes by at least Gain,
// gives back the step that does not, and stops there. A server that says
// it is overloaded (429, 503, resets) lowers the count and caps it for
// the rest of the Run.
type Auto struct {
	// Max is the most connections; zero means 16.
	Max int
	// Capped says that Run's count is where the server said it was
	// overloaded (on an earlier download): it is kept, not searched
	// above.
	Capped bool
	// Gain is the smallest relative rise of the aggregate rate that
	// keeps a step of connections; zero means 0.10.
	Gain float64
	// Warmup is how long new connections get before they are measured
	// (a TCP and TLS handshake, a request, slow start), Window how long
	// the rate is measured over. Zero means 300ms and 700ms.
	Warmup, Window time.Duration
	// Each change of the count is told as an EventAutoStep
	// (Fetcher.OnEvent), with the aggregate rate measured before it (0
	// when none was yet), and once more with the reason when the count
	// stops changing.

	// Start, when above zero, is where the count starts instead of the
	// count Run is given; it is for a search in PerMirror.
	Start int
	// PerMirror, when it has one search for each of Fetcher.Mirrors,
	// gives every mirror workers and a count of its own, searched on the
	// bytes its connections bring (PerMirror[i] for Mirrors[i]), in place
	// of one count for all of them. Its workers stay on their mirror.
	PerMirror []*Auto
}

// Reason tells why a count of connections is what it is.
type Reason string

// The reasons a count stops changing.
const (
	// ReasonFixed: the count is the one asked for.
	ReasonFixed Reason = "fixed"
	// ReasonProbing: the count is still being searched for.
	ReasonProbing Reason = "probing"
	// ReasonGain: one more step of connections raised the rate by less
	// than Auto.Gain, and was given back.
	ReasonGain Reason = "gain"
	// ReasonMax: the count reached Auto.Max.
	ReasonMax Reason = "max"
	// ReasonOverloaded: the server answered 429 or 503, or reset
	// connections.
	ReasonOverloaded Reason = "overloaded"
	// ReasonFinished: the download ended before the search did.
	ReasonFinished Reason = "finished"
)

func (a *Auto) max() int {
	if a.Max <= 0 {
		return 16
	}
	return a.Max
}

func (a *Auto) gain() float64 {
	if a.Gain <= 0 {
		return 0.10
	}
	return a.Gain
}

func (a *Auto) warmup() time.Duration {
	if a.Warmup <= 0 {
		return 300 * time.Millisecond
	}
	return a.Warmup
}

func (a *Auto) window() time.Duration {
	if a.Window <= 0 {
		return 700 * time.Millisecond
	}
	return a.Window
}

// tuner is the decision rule of Auto, apart from time and I/O: it is
// given the aggregate rate measured at its current count, and says the
// next count.
type tuner struct {
	max  int
	gain float64

	n      int     // the count being measured
	best   float64 // rate at bestN; 0 before the first measurement
	bestN  int     // the last count whose step paid
	prev   float64 // rate at prevN, the count kept before bestN
	prevN  int     // 0 while bestN is the first count
	reason Reason  // ReasonProbing until the count stops changing
}

func newTuner(start, max int, gain float64) *tuner {
	max = max1(max)
	start = min(max1(start), max)
	t := &tuner{max: max, gain: gain, n: start, reason: ReasonProbing}
	if start >= max {
		t.reason = ReasonMax // nothing to search
	}
	return t
}

func max1(n int) int { return max(n, 1) }

// done reports whether the count has stopped changing.
func (t *tuner) done() bool { return t.reason != ReasonProbing }

// step is the number of connections added to n: as many again, so that
// a step raises an uncapped rate far above a Gain of 10% (noise does not
// stop the search) and the knee is reached in few steps, each of which
// costs a window below it.
func step(n int) int { return n }

// measured takes the aggregate rate at the current count and returns
// the next count.
func (t *tuner) measured(rate float64) int {
	if t.done() {
		return t.n
	}
	if t.bestN > 0 && !(rate > t.best*(1+t.gain)) {
		// The step added (almost) nothing: give it back, and the part of
		// the step before that the rates say added nothing either.
		t.n, t.reason = t.knee(), ReasonGain
		return t.n
	}
	t.prev, t.prevN = t.best, t.bestN
	t.best, t.bestN = rate, t.n
	if t.n >= t.max {
		t.reason = ReasonMax
		return t.n
	}
	t.n = min(t.n+step(t.n), t.max)
	return t.n
}

// knee is the fewest connections that carry the best rate, estimated
// from the step before it: at the per-connection rate measured at prevN,
// best needs best/(prev/prevN) connections. Steps double the count, so
// the last one that paid may have overshot: with 1 MiB/s per connection
// and a 6 MiB/s link, 4 -> 8 pays, 8 -> 16 does not, and 6 is enough.
// The estimate stays within (prevN, bestN].
func (t *tuner) knee() int {
	if t.prevN == 0 || t.prev <= 0 {
		return t.bestN
	}
	need := int(math.Round(t.best / (t.prev / float64(t.prevN))))
	return min(max(need, t.prevN+1), t.bestN)
}

// overloaded caps the count at allowed, for good: the server said it
// takes no more.
func (t *tuner) overloaded(allowed int) int {
	allowed = max1(allowed)
	t.max = min(t.max, allowed)
	t.n = min(t.n, allowed)
	t.bestN = min(t.bestN, allowed)
	t.reason = ReasonOverloaded
	return t.n
}

// autoDriver runs a tuner on the monitor's samples: it lets new
// connections warm up, measures the arriving bytes over a window, and
// applies the tuner's answer to the pool.
type autoDriver struct {
	opts *Auto
	t    *tuner
	crew *crew
	emit func(Event)

	since     time.Time // the count last changed (or was last measured)
	measuring bool      // the window is open: markAt, markBytes hold
	markAt    time.Time
	markBytes int64
}

func newAutoDriver(opts *Auto, c *crew, now time.Time, emit func(Event)) *autoDriver {
	d := &autoDriver{opts: opts, crew: c, since: now, emit: emit,
		t: newTuner(int(c.allowed.Load()), int(c.ceiling.Load()), opts.gain())}
	if opts.Capped {
		d.t.overloaded(d.t.n)
	}
	d.report(0)
	return d
}

func (d *autoDriver) report(rate float64) {
	ev := newEvent(EventAutoStep)
	ev.Connections, ev.Reason, ev.Rate, ev.Mirror = d.t.n, d.t.reason, rate, mirrorIndex(d.crew.mirror)
	d.emit(ev)
}

// sample takes the bytes arrived so far at now.
func (d *autoDriver) sample(now time.Time, received int64) {
	if c := int(d.crew.ceiling.Load()); c < d.t.max {
		// The server said it is overloaded: the pool lowered itself.
		d.t.overloaded(c)
		d.report(0)
	}
	if d.t.done() {
		return
	}
	if !d.measuring {
		if now.Sub(d.since) >= d.opts.warmup() {
			d.measuring, d.markAt, d.markBytes = true, now, received
		}
		return
	}
	span := now.Sub(d.markAt)
	if span < d.opts.window() {
		return
	}
	rate := float64(received-d.markBytes) / span.Seconds()
	before := d.t.n
	next := d.t.measured(rate)
	d.since, d.measuring = now, false
	if next != before {
		d.crew.setAllowed(next)
	}
	if next != before || d.t.done() {
		d.report(rate)
	}
}

// finish reports the end of the search if the download ended first.
func (d *autoDriver) finish() {
	if !d.t.done() {
		d.t.reason = ReasonFinished
		d.report(0)
	}
}
