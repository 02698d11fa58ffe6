package ui

import (
	"testing"
	"time"

	"github.com/netfox/netfox"
)

// TestSegmentMap: each cell is a slice of the file, done, in flight or
// waiting; a stream's window leaves done below and waiting above.
func TestSegmentMap(t *testing.T) {
	snap := netfox.Snapshot{Length: 100, Segments: []netfox.Span{
		{ID: 0, Start: 0, Next: 50, End: 50},
		{ID: 1, Start: 50, Next: 65, End: 100, Busy: true},
	}}
	if got, want := segmentMap(snap, 10), "██████▒░░░"; got != want {
		t.Errorf("map %q, want %q", got, want)
	}
	window := netfox.Snapshot{Length: 100, Segments: []netfox.Span{{ID: 0, Start: 40, Next: 45, End: 60, Busy: true}}}
	if got, want := segmentMap(window, 10), "████▒░░░░░"; got != want {
		t.Errorf("window map %q, want %q", got, want)
	}
}

// TestSpeedDecays: with nothing arriving the speed halves every
// speedHalfLife, whatever the number of frames in between.
func TestSpeedDecays(t *testing.T) {
	t0 := time.Now()
	for _, frames := range []int{1, 7} {
		it := &item{prog: new(netfox.Progress), primed: true, lastAt: t0, speed: 1000}
		for i := 1; i <= frames; i++ {
			it.sample(t0.Add(speedHalfLife * time.Duration(i) / time.Duration(frames)))
		}
		if it.speed < 499 || it.speed > 501 {
			t.Errorf("%d frames: speed %.1f after a half-life, want 500", frames, it.speed)
		}
	}
	if got := eta(1000, 0.5); got != "--" {
		t.Errorf("eta with no speed %q", got)
	}
}
