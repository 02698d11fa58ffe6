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
	prog    *netfox.Progress
	began   time.Time
	retries atomic.Int64

	// Guarded by UI.mu, as drawing is.
	primed      bool
	lastFetched int64
	lastAt      time.Time
	speed       float64 // bytes/s, decaying while nothing arrives
}

// sample updates the item's speed at now and returns its snapshot.
func (it *item) sample(now time.Time) netfox.Snapshot {
	snap := it.prog.Snapshot()
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

// name is what the view calls the file.
func name(snap netfox.Snapshot) string {
	if snap.Path == netfox.StreamPath {
		return "stdout"
	}
	return filepath.Base(snap.Path)
}

// status is the one line of a download: name, size, percent, speed, ETA,
// elapsed time, connections at work and retries.
func (it *item) status(snap netfox.Snapshot, now time.Time) string {
	var b strings.Builder
	if it.label != "" {
		b.WriteString(it.label + " ")
	}
	b.WriteString(name(snap))
	if snap.Length >= 0 {
		pct := 100.0
		if snap.Length > 0 {
			pct = 100 * float64(snap.Written) / float64(snap.Length)
		}
		fmt.Fprintf(&b, "  %s / %s  %3.0f%%", units.FormatSize(snap.Written), units.FormatSize(snap.Length), math.Floor(pct))
	} else {
		fmt.Fprintf(&b, "  %s", units.FormatSize(snap.Written))
	}
	fmt.Fprintf(&b, "  %s/s", units.FormatSize(int64(it.speed)))
	if snap.Length >= 0 {
		b.WriteString("  ETA " + eta(snap.Length-snap.Written, it.speed))
	}
	busy := 0
	for _, s := range snap.Segments {
		if s.Busy && s.Next < s.End {
			busy++
		}
	}
	fmt.Fprintf(&b, "  %s  %s", clock(now.Sub(it.began)), plural(busy, "conn"))
	if r := it.retries.Load(); r > 0 || it.label == "" {
		fmt.Fprintf(&b, "  %s", plural(int(r), "retry"))
	}
	return b.String()
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

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(word, "y"))
	}
	return fmt.Sprintf("%d %ss", n, word)
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
