package retry

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestBackoffGrowth checks the bounds of the wait before a retry, step
// by step: exponential from the base, doubled per failure up to the
// ceiling, jittered down to no less than half; zero values mean the
// defaults; failures below one count as one; a Retry-After longer than
// the backoff is kept, up to five times the ceiling, and a shorter one
// changes nothing.
func TestBackoffGrowth(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name          string
		failures      int
		base, ceiling time.Duration
		err           error
		lo, hi        time.Duration // inclusive
	}{
		{"defaults, first", 1, 0, 0, nil, 125 * ms, 250 * ms},
		{"defaults, second", 2, 0, 0, nil, 250 * ms, 500 * ms},
		{"defaults, ceiling", 20, 0, 0, nil, 5 * time.Second, 10 * time.Second},
		{"first", 1, 100 * ms, 10 * time.Second, nil, 50 * ms, 100 * ms},
		{"second doubles", 2, 100 * ms, 10 * time.Second, nil, 100 * ms, 200 * ms},
		{"third doubles", 3, 100 * ms, 10 * time.Second, nil, 200 * ms, 400 * ms},
		{"seventh", 7, 100 * ms, 10 * time.Second, nil, 3200 * ms, 6400 * ms},
		{"eighth hits the ceiling", 8, 100 * ms, 10 * time.Second, nil, 5 * time.Second, 10 * time.Second},
		{"far past the ceiling", 1000, 100 * ms, 10 * time.Second, nil, 5 * time.Second, 10 * time.Second},
		{"zero failures count as one", 0, 100 * ms, 10 * time.Second, nil, 50 * ms, 100 * ms},
		{"negative failures count as one", -3, 100 * ms, 10 * time.Second, nil, 50 * ms, 100 * ms},
		{"base above the ceiling", 1, 20 * time.Second, 10 * time.Second, nil, 5 * time.Second, 10 * time.Second},
		{"base that overflows when doubled", 3, 1 << 62, 10 * time.Second, nil, 5 * time.Second, 10 * time.Second},
		{"Retry-After kept", 1, 100 * ms, time.Second, statusLike{after: 3 * time.Second}, 3 * time.Second, 3 * time.Second},
		{"Retry-After wrapped", 1, 100 * ms, time.Second, fmt.Errorf("range 0-9: %w", statusLike{after: 3 * time.Second}), 3 * time.Second, 3 * time.Second},
		{"Retry-After capped", 1, 100 * ms, time.Second, statusLike{after: time.Hour}, 5 * time.Second, 5 * time.Second},
		{"Retry-After shorter than the backoff", 3, 100 * ms, time.Second, statusLike{after: ms}, 200 * ms, 400 * ms},
		{"Retry-After zero", 1, 100 * ms, time.Second, statusLike{after: 0}, 50 * ms, 100 * ms},
		{"other error", 1, 100 * ms, time.Second, errors.New("reset"), 50 * ms, 100 * ms},
	}
	for _, tt := range tests {
		for range 200 {
			if d := Backoff(tt.failures, tt.base, tt.ceiling, tt.err); d < tt.lo || d > tt.hi {
				t.Errorf("%s: Backoff(%d, %v, %v, %v) = %v, want within [%v, %v]",
					tt.name, tt.failures, tt.base, tt.ceiling, tt.err, d, tt.lo, tt.hi)
				break
			}
		}
	}
}

// TestBackoffJitter: the waits spread over their whole range, so that
// connections cut at the same instant do not come back in step. (Each
// quarter of the range is missed by 1000 draws with a chance of
// 0.75^1000.)
func TestBackoffJitter(t *testing.T) {
	const lo, hi = 200 * time.Millisecond, 400 * time.Millisecond
	seen := map[time.Duration]bool{}
	low, high := hi, lo
	for range 1000 {
		d := Backoff(3, 100*time.Millisecond, 10*time.Second, nil)
		seen[d] = true
		low, high = min(low, d), max(high, d)
	}
	if low > lo+(hi-lo)/4 || high < hi-(hi-lo)/4 {
		t.Errorf("1000 waits within [%v, %v], want them to reach both quarters of [%v, %v]", low, high, lo, hi)
	}
	if len(seen) < 100 {
		t.Errorf("1000 waits take %d values, want them spread", len(seen))
	}
}
