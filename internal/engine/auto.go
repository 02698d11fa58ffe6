package engine

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netfox/netfox/segment"
)

// autoStepped records -n auto's change of the count of source i (of the
// one count when i < 0) to n, and reports it.
func (d *Downloader) autoStepped(l *parallelLog, i, n int, why segment.Reason, rate float64) {
	l.change(i, n, why, rate)
	e := Event{Kind: EventAutoStep, Connections: n, Rate: rate, Text: fmt.Sprintf("-n auto: %d connections (%s)", n, why)}
	if i >= 0 && i < len(d.sources) {
		e.URL = d.sources[i].url
	}
	d.event(e)
}

// parallelLog records how the number of connections changed and why it
// is what it is at the end: one count, or with mirrors searched each on
// its own (autoPerMirror) one per source, whose sum is connections.
type parallelLog struct {
	began       time.Time
	connections *atomic.Int64 // the count of all sources together

	mu      sync.Mutex
	reason  string
	steps   []ParallelStep
	counts  []int    // per source, with a search each; nil otherwise
	reasons []string // per source, alike
}

// change records a change of the count of source i, or of the one count
// (i < 0), to n.
func (l *parallelLog) change(i, n int, why segment.Reason, rate float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	total := n
	step := ParallelStep{At: time.Since(l.began), Connections: n, Rate: rate}
	if i >= 0 && i < len(l.counts) {
		l.counts[i], l.reasons[i] = n, string(why)
		total = 0
		for _, c := range l.counts {
			total += c
		}
		step.Source = i
	} else {
		l.reason = string(why)
	}
	l.connections.Store(int64(total))
	last := -1
	for k := len(l.steps) - 1; k >= 0; k-- {
		if l.steps[k].Source == step.Source {
			last = k
			break
		}
	}
	if last < 0 || l.steps[last].Connections != n {
		l.steps = append(l.steps, step)
	}
}

// perSource starts a count for each of n sources, or one count for all
// when there is one source (a fresh start may have fewer than before).
func (l *parallelLog) perSource(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < 2 {
		l.counts, l.reasons = nil, nil
		return
	}
	l.counts, l.reasons = make([]int, n), make([]string, n)
	l.reason = ReasonMirrors
}

func (l *parallelLog) overloaded() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.reason = string(segment.ReasonOverloaded)
	}
}

func (l *parallelLog) result() (string, []ParallelStep) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reason, slices.Clone(l.steps)
}

// sourceResults adds each source's count and reason to sources.
func (l *parallelLog) sourceResults(sources []Source) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range min(len(sources), len(l.counts)) {
		sources[i].Parallel, sources[i].ParallelReason = l.counts[i], l.reasons[i]
	}
}

// ReasonMirrors is Result.ParallelReason when AutoConnections searched a
// count for each source: each Source says its own.
const ReasonMirrors = "mirrors"

// autoPerMirror gives each of several sources a search of its own under
// AutoConnections, starting at the count remembered for its host.
func (d *Downloader) autoPerMirror(f *segment.Fetcher, sources []*source, l *parallelLog) {
	if f.Auto == nil {
		return
	}
	f.Auto.PerMirror = nil
	l.perSource(len(sources))
	if len(sources) < 2 {
		return
	}
	for i, s := range sources {
		raw := d.req.URL
		if i > 0 {
			raw = s.raw
		}
		start, capped := autoStart(d.req.CacheDir, raw, f.Auto.Max)
		f.Auto.PerMirror = append(f.Auto.PerMirror, &segment.Auto{Max: f.Auto.Max, Start: start, Capped: capped,
			OnChange: func(n int, why segment.Reason, rate float64) { d.autoStepped(l, i, n, why, rate) }})
	}
}

// rememberCounts stores the counts AutoConnections settled at for the
// hosts of the download: the one count for URL's, or each source's for
// its own when they were searched each on its own. A search that the
// download's end cut short, or a source given up, is not stored.
func (d *Downloader) rememberCounts(l *parallelLog, res Result) {
	type entry struct {
		url    string
		n      int
		reason string
	}
	var entries []entry
	l.mu.Lock()
	if l.counts == nil {
		entries = append(entries, entry{d.req.URL, res.Parallel, l.reason})
	} else {
		for i, s := range d.sources {
			raw := d.req.URL
			if i > 0 {
				raw = s.raw
			}
			if i < len(l.counts) && (s.mirror == nil || s.mirror.Dropped() == nil) {
				entries = append(entries, entry{raw, l.counts[i], l.reasons[i]})
			}
		}
	}
	l.mu.Unlock()
	for _, e := range entries {
		if e.reason == string(segment.ReasonFinished) || e.n < 1 {
			continue
		}
		hc := hostCount{Connections: e.n, Source: "auto", Capped: e.reason == string(segment.ReasonOverloaded)}
		if err := remember(d.req.CacheDir, e.url, hc); err != nil {
			d.notify(EventCacheFailed, "cannot remember the number of connections for this host: %v", err)
			return
		}
	}
}
