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
		it := &item{prog: nothing{}, primed: true, lastAt: t0, speed: 1000}
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

// TestMeterBursts: bytes arriving in bursts (a big frame, then near-empty
// ones) are measured at the rate they arrive on the whole, over the
// window, not dragged down by the empty frames.
func TestMeterBursts(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var m meter
	var total int64
	// 8 MiB/s on the whole: a frame of 150ms carries 8 MiB/s * 0.6 s
	// every fourth frame, nothing in between.
	for i := 0; i <= 100; i++ {
		if i%4 == 0 && i > 0 {
			total += 8 << 20 * 6 / 10
		}
		m.add(t0.Add(time.Duration(i)*150*time.Millisecond), total)
	}
	if got, want := m.rate(), float64(8<<20); got < want*0.9 || got > want*1.1 {
		t.Errorf("rate %.0f B/s, want %.0f ±10%%", got, want)
	}
	// The window forgets: after 6 s at 1 MiB/s, the rate is 1 MiB/s.
	at := t0.Add(100 * 150 * time.Millisecond)
	for i := 1; i <= 40; i++ {
		total += 1 << 20 * 15 / 100
		m.add(at.Add(time.Duration(i)*150*time.Millisecond), total)
	}
	if got, want := m.rate(), float64(1<<20); got < want*0.99 || got > want*1.01 {
		t.Errorf("rate after the change %.0f B/s, want %.0f", got, want)
	}
	var empty meter
	empty.add(t0, 100)
	if empty.rate() != 0 {
		t.Errorf("one sample: rate %v, want 0", empty.rate())
	}
}

// TestLayoutDropsWholeFields: a status line narrower than its fields
// loses whole fields, the least wanted first, never half a number.
func TestLayoutDropsWholeFields(t *testing.T) {
	fields := func() []field {
		return []field{{"f.bin", keepName}, {"56.0 MiB / 256.0 MiB", keepSize}, {" 21%", keepPercent},
			{"8.0 MiB/s", keepSpeed}, {"ETA 25s", keepETA}, {"7s", keepElapsed}, {"8 conns", keepConns}, {"0 retries", keepRetries}}
	}
	full := "f.bin  56.0 MiB / 256.0 MiB   21%  8.0 MiB/s  ETA 25s  7s  8 conns  0 retries"
	tests := []struct {
		width int
		want  string
	}{
		{120, full},
		{len(full), full},
		{len(full) - 1, "f.bin  56.0 MiB / 256.0 MiB   21%  8.0 MiB/s  ETA 25s  7s  8 conns"},
		{60, "f.bin  56.0 MiB / 256.0 MiB   21%  8.0 MiB/s  ETA 25s"},
		{39, "f.bin   21%  8.0 MiB/s  ETA 25s"},
		{20, "f.bin   21%"},
	}
	for _, tt := range tests {
		if got := layout(fields(), tt.width); got != tt.want {
			t.Errorf("width %d:\n got %q\nwant %q", tt.width, got, tt.want)
		}
	}
	if got := layout([]field{{"a-very-long-file-name-indeed.iso", keepName}, {" 21%", keepPercent}}, 30); got != "a-very-long-fi…   21%" {
		t.Errorf("long name: %q", got)
	}
}

// TestStateOf: what a file's line says it is doing.
func TestStateOf(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	planned := netfox.Snapshot{Path: "f.bin", Length: 100}
	fetching := netfox.Snapshot{Path: "f.bin", Length: 100, Fetched: 10}
	tests := []struct {
		name    string
		snap    netfox.Snapshot
		working int
		retryAt time.Time
		want    state
	}{
		{"probing", netfox.Snapshot{Length: -1}, 0, time.Time{}, stateConnecting},
		{"planned, no connection yet", planned, 0, time.Time{}, stateWaiting},
		{"first bytes", planned, 1, time.Time{}, stateDownloading},
		{"bytes came, connections quiet", fetching, 0, time.Time{}, stateDownloading},
		{"retry pending", fetching, 0, now.Add(time.Second), stateRetrying},
		{"retry pending, others at work", fetching, 2, now.Add(time.Second), stateDownloading},
		{"retry wait over", fetching, 0, now.Add(-time.Second), stateDownloading},
	}
	for _, tt := range tests {
		if got := stateOf(tt.snap, tt.working, tt.retryAt, now); got != tt.want {
			t.Errorf("%s: state %d, want %d", tt.name, got, tt.want)
		}
	}
}

// nothing is a Source of a download that has not started.
type nothing struct{}

func (nothing) Snapshot() netfox.Snapshot { return netfox.Snapshot{Length: -1, ETA: -1} }
