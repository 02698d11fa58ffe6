package segment

import "time"

// The scheduler's defaults, in one place. A zero Fetcher field means its
// default; a negative StallWindow or SlowWindow turns that rule off. The
// retry policy's own defaults (tries, backoff) are in package retry.
const (
	// DefaultStallSpeed and DefaultStallWindow define a stalled
	// connection: fewer than 1 KiB/s over 10 s.
	DefaultStallSpeed  = 1 << 10
	DefaultStallWindow = 10 * time.Second
	// DefaultSlowWindow and DefaultSlowRatio define a slow connection:
	// at its steady rate (measured from a window after its answer on),
	// below a third of the median for two windows in a row (slow.go).
	DefaultSlowWindow = time.Second
	DefaultSlowRatio  = 3
	// reconnectsPerConnection bounds the reconnects of slow and silent
	// connections in one Run, per connection, when MaxReconnects is zero.
	reconnectsPerConnection = 4
)

// stallRule is the Fetcher's stall floor and window with their defaults;
// a zero window means the check is off.
func (f *Fetcher) stallRule() (speed int64, window time.Duration) {
	speed, window = f.StallSpeed, f.StallWindow
	if speed <= 0 {
		speed = DefaultStallSpeed
	}
	switch {
	case window == 0:
		window = DefaultStallWindow
	case window < 0:
		window = 0
	}
	return speed, window
}
