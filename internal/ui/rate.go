package ui

import (
	"sync/atomic"
	"time"

	"github.com/netfox/netfox/internal/units"
)

// rateWindow is the span a meter measures over: long enough that bursts
// (a server's first second, a connection replaced) average out, short
// enough to follow a change of speed within a few seconds.
const rateWindow = 5 * time.Second

// meter measures a rate as the bytes that arrived over the last
// rateWindow, from samples of a running total: the sum of the arrivals
// divided by the time they took, not an average of per-sample speeds
// (which a few near-empty samples drag down).
type meter struct {
	samples []rateSample
}

type rateSample struct {
	at    time.Time
	total int64
}

// add records the running total at at.
func (m *meter) add(at time.Time, total int64) {
	m.samples = append(m.samples, rateSample{at, total})
	// Keep one sample at or before the window's start, so that the span
	// measured is the whole window.
	for len(m.samples) > 2 && at.Sub(m.samples[1].at) >= rateWindow {
		m.samples = m.samples[1:]
	}
}

// rate is the bytes per second over the window (over the time since the
// first sample while that is shorter); 0 before two samples.
func (m *meter) rate() float64 {
	if len(m.samples) < 2 {
		return 0
	}
	first, last := m.samples[0], m.samples[len(m.samples)-1]
	dt := last.at.Sub(first.at).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(last.total-first.total) / dt
}

// segRate is a segment bar's speed: its meter, and the text mpb's
// goroutine draws.
type segRate struct {
	meter
	text atomic.Pointer[string]
}

func (r *segRate) add(now time.Time, next int64) {
	r.meter.add(now, next)
	text := units.FormatSize(int64(r.rate())) + "/s"
	r.text.Store(&text)
}
