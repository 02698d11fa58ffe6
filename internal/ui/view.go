package ui

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/units"
)

// The cells of the segment map: a slice of the file done, being fetched,
// or waiting for a connection.
const (
	cellDone     = '█'
	cellInFlight = '▒'
	cellWaiting  = '░'
)

// speedHalfLife is how fast the shown speed follows the transfer: after
// this long without a byte it has halved.
const speedHalfLife = time.Second

// item is one download on the view.
type item struct {
	label   string // the batch's tag; empty for a single download
	planned string // the file's name before the server names it
	prog    Source
	began   time.Time
	retries atomic.Int64
	// retryAt is when the pending retry's wait ends (UnixNano); 0 when
	// none is pending.
	retryAt atomic.Int64

	// Guarded by UI.mu, as drawing is.
	primed      bool
	lastFetched int64
	lastAt      time.Time
	speed       float64 // bytes/s, decaying while nothing arrives
	ended       bool    // the last frame: the run's average speed, no ETA
	// moved is when each segment's Next last moved: a connection is at
	// work while its segment moves.
	moved map[int]segMove
}

type segMove struct {
	next int64
	at   time.Time
}

// activeFor is how long a segment counts as at work after its last byte.
const activeFor = 2 * time.Second

// sample updates the item's speed at now and returns its snapshot.
func (it *item) sample(now time.Time) netfox.Snapshot {
	snap := it.prog.Snapshot()
	if it.moved == nil {
		it.moved = map[int]segMove{}
	}
	for _, s := range snap.Segments {
		// First seen: not moving until its Next moves (resumed bytes
		// are not a connection at work).
		if m, ok := it.moved[s.ID]; !ok {
			it.moved[s.ID] = segMove{next: s.Next}
		} else if m.next != s.Next {
			it.moved[s.ID] = segMove{next: s.Next, at: now}
		}
	}
	if !it.primed {
		if snap.Path != "" {
			it.primed, it.lastFetched, it.lastAt = true, snap.Fetched, now
		}
		return snap
	}
	dt := now.Sub(it.lastAt).Seconds()
	if dt <= 0 {
		return snap
	}
	inst := float64(snap.Fetched-it.lastFetched) / dt
	// An exponential average with a half-life in time, not in samples:
	// with nothing arriving it decays at the same pace whatever the tick.
	keep := math.Exp2(-dt / speedHalfLife.Seconds())
	if it.speed == 0 {
		keep = 0
	}
	it.speed = keep*it.speed + (1-keep)*inst
	it.lastFetched, it.lastAt = snap.Fetched, now
	return snap
}

// working counts the connections at work: the segments being fetched
// whose bytes moved within activeFor. A segment claimed by a worker still
// waiting for a connection (the per-host budget) does not count.
func (it *item) working(snap netfox.Snapshot, now time.Time) int {
	n := 0
	for _, s := range snap.Segments {
		if m, ok := it.moved[s.ID]; ok && s.Busy && s.Next < s.End && now.Sub(m.at) < activeFor {
			n++
		}
	}
	return n
}

// state is what a download is doing, as its line says.
type state int

const (
	stateConnecting  state = iota // asking the server about the file
	stateWaiting                  // planned, no connection at work yet
	stateDownloading              // bytes arriving
	stateRetrying                 // waiting to try again after a failure
)

// stateOf decides an item's state from its snapshot: no path yet is
// connecting (the probe); a pending retry's wait is retrying; nothing
// fetched in this run and no connection at work is waiting (for a
// connection of the per-host budget); else downloading.
func stateOf(snap netfox.Snapshot, working int, retryAt, now time.Time) state {
	switch {
	case snap.Path == "":
		return stateConnecting
	case !retryAt.IsZero() && now.Before(retryAt) && working == 0:
		return stateRetrying
	case snap.Fetched == 0 && working == 0:
		return stateWaiting
	}
	return stateDownloading
}

// name is what the view calls the file.
func name(snap netfox.Snapshot) string {
	if snap.Path == netfox.StreamPath {
		return "stdout"
	}
	return filepath.Base(snap.Path)
}

// field is a part of a status line; when the line is too wide for the
// terminal the fields of lowest keep go first, whole.
type field struct {
	text string
	keep int
}

// layout joins fields with two spaces, dropping whole fields, those of
// lowest keep first, until the line fits width; the first field (the
// name) is shortened to half the width beforehand.
func layout(fields []field, width int) string {
	if len(fields) > 0 {
		fields[0].text = shorten(fields[0].text, max(width/2, 8))
	}
	for {
		parts := make([]string, len(fields))
		for i, f := range fields {
			parts[i] = f.text
		}
		line := strings.Join(parts, "  ")
		if utf8.RuneCountInString(line) <= width || len(fields) <= 1 {
			return fit(line, width)
		}
		lowest := len(fields) - 1
		for i := len(fields) - 1; i >= 1; i-- {
			if fields[i].keep < fields[lowest].keep {
				lowest = i
			}
		}
		fields = append(fields[:lowest:lowest], fields[lowest+1:]...)
	}
}

// shorten cuts s to width runes, ending it with … when cut.
func shorten(s string, width int) string {
	r := []rune(s)
	if len(r) <= width {
		return s
	}
	return string(r[:width-1]) + "…"
}

// The keep of the fields of a status line: the name stays longest, then
// what a glance looks for (how far, how fast, how long still).
const (
	keepName = 100 - iota
	keepState
	keepPercent
	keepSpeed
	keepETA
	keepSize
	keepConns
	keepElapsed
	keepRetries
)

// status is the one line of a download: name, size, percent, speed, ETA,
// elapsed time, connections at work and retries; in a batch, a file
// connecting, waiting or retrying says so instead of a speed. It fits
// width.
func (it *item) status(snap netfox.Snapshot, now time.Time, width int) string {
	fields := []field{{name(snap), keepName}}
	if snap.Path == "" {
		fields[0].text = it.planned
	}
	if it.label != "" {
		fields[0].text = it.label + " " + fields[0].text
	}
	working := it.working(snap, now)
	var retryAt time.Time
	if at := it.retryAt.Load(); at != 0 {
		retryAt = time.Unix(0, at)
	}
	st := stateOf(snap, working, retryAt, now)
	elapsed := field{clock(now.Sub(it.began)), keepElapsed}
	switch {
	case st == stateConnecting:
		return layout(append(fields, field{"connecting", keepState}, elapsed), width)
	case st == stateWaiting && it.label != "":
		if snap.Length >= 0 {
			fields = append(fields, field{units.FormatSize(snap.Written) + " / " + units.FormatSize(snap.Length), keepSize})
		}
		return layout(append(fields, field{"waiting for a connection", keepState}, elapsed), width)
	}
	if snap.Length >= 0 {
		pct := 100.0
		if snap.Length > 0 {
			pct = 100 * float64(snap.Written) / float64(snap.Length)
		}
		fields = append(fields,
			field{units.FormatSize(snap.Written) + " / " + units.FormatSize(snap.Length), keepSize},
			field{fmt.Sprintf("%3.0f%%", math.Floor(pct)), keepPercent})
	} else {
		fields = append(fields, field{units.FormatSize(snap.Written), keepSize})
	}
	switch {
	case it.ended:
		avg := float64(snap.Fetched) / max(now.Sub(it.began).Seconds(), 1e-3)
		fields = append(fields, field{units.FormatSize(int64(avg)) + "/s", keepSpeed})
	case st == stateRetrying:
		wait := max(retryAt.Sub(now), 0)
		fields = append(fields, field{"retrying in " + clock(wait+time.Second/2), keepState})
	default:
		fields = append(fields, field{units.FormatSize(int64(it.speed)) + "/s", keepSpeed})
		if snap.Length >= 0 {
			fields = append(fields, field{"ETA " + eta(snap.Length-snap.Written, it.speed), keepETA})
		}
	}
	fields = append(fields, elapsed, field{units.Count(working, "conn"), keepConns})
	if r := it.retries.Load(); r > 0 || it.label == "" {
		fields = append(fields, field{units.Count(int(r), "retry"), keepRetries})
	}
	return layout(fields, width)
}

func eta(remaining int64, speed float64) string {
	if remaining <= 0 {
		return "0s"
	}
	if speed < 1 {
		return "--"
	}
	secs := float64(remaining) / speed
	if secs > 99*3600 {
		return "--"
	}
	return clock(time.Duration(secs * float64(time.Second)))
}

// clock formats d as 7s, 1m05s or 2h03m.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, s/60%60)
}

// segmentMap draws the whole file in width cells, each a slice of it:
// done, in flight (partly done or being fetched) or waiting. A stream's
// snapshot covers only its window: below it is done, above it waiting.
func segmentMap(snap netfox.Snapshot, width int) string {
	if width < 1 || snap.Length <= 0 || len(snap.Segments) == 0 {
		return ""
	}
	low, high := snap.Segments[0].Start, snap.Segments[0].End
	for _, s := range snap.Segments {
		low, high = min(low, s.Start), max(high, s.End)
	}
	cells := make([]rune, width)
	for i := range cells {
		a := snap.Length * int64(i) / int64(width)
		b := snap.Length * int64(i+1) / int64(width)
		if b <= a {
			b = a + 1
		}
		var done int64
		front := false
		switch {
		case b <= low:
			done = b - a
		case a >= high:
		default:
			done = max(0, min(b, low)-a) // below the segments: done; above: waiting
			for _, s := range snap.Segments {
				done += max(0, min(b, s.Next)-max(a, s.Start))
				if s.Busy && s.Next < s.End && s.Next >= a && s.Next < b {
					front = true
				}
			}
		}
		switch {
		case done >= b-a:
			cells[i] = cellDone
		case done > 0 || front:
			cells[i] = cellInFlight
		default:
			cells[i] = cellWaiting
		}
	}
	return string(cells)
}

// fit cuts s to at most width columns (every rune the view draws is one
// column wide).
func fit(s string, width int) string {
	if width < 1 {
		return ""
	}
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width])
}
