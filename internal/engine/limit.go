package engine

import "golang.org/x/time/rate"

// NewLimiter returns a limiter of bytesPerSec for all the connections
// that share it; zero or less is no cap (rate.Inf). setLimit changes it
// while they run.
func NewLimiter(bytesPerSec int64) *rate.Limiter {
	l := rate.NewLimiter(rate.Inf, maxBurst)
	SetLimit(l, bytesPerSec)
	return l
}

// maxBurst is the most a limiter lets through at once.
const maxBurst = 256 << 10

// SetLimit sets l to bytesPerSec, no cap for zero or less. The burst, the
// most read at once, is an eighth of a second of transfer within
// [4 KiB, 256 KiB]: small enough for a smooth rate, large enough for few
// syscalls.
func SetLimit(l *rate.Limiter, bytesPerSec int64) {
	if bytesPerSec <= 0 {
		l.SetLimit(rate.Inf)
		return
	}
	l.SetBurst(int(min(max(bytesPerSec/8, 4<<10), maxBurst)))
	l.SetLimit(rate.Limit(bytesPerSec))
}
