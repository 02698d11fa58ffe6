package segment

import (
	"sync/atomic"

	"golang.org/x/time/rate"
)

// Limit is a cap on the bytes per second of the segments that share it,
// which may change while they run (a download's own cap, a Client's
// shared one). Uncapped, it costs a read one atomic load: the limiter's
// lock is taken only while a cap is set.
type Limit struct {
	capped  atomic.Bool
	limiter *rate.Limiter
}

// maxBurst is the most a limit lets through at once.
const maxBurst = 256 << 10

// NewLimit returns a limit of bytesPerSec; zero or less is no cap.
func NewLimit(bytesPerSec int64) *Limit {
	l := &Limit{limiter: rate.NewLimiter(rate.Inf, maxBurst)}
	l.Set(bytesPerSec)
	return l
}

// Set changes the cap to bytesPerSec from now on, zero or less for none.
// The burst, the most read at once, is an eighth of a second of transfer
// within [4 KiB, 256 KiB]: small enough for a smooth rate, large enough
// for few syscalls.
func (l *Limit) Set(bytesPerSec int64) {
	if bytesPerSec <= 0 {
		l.capped.Store(false)
		l.limiter.SetLimit(rate.Inf)
		return
	}
	l.limiter.SetBurst(int(min(max(bytesPerSec/8, 4<<10), maxBurst)))
	l.limiter.SetLimit(rate.Limit(bytesPerSec))
	l.capped.Store(true)
}

// active is the limiter while a cap is set, nil otherwise.
func (l *Limit) active() *rate.Limiter {
	if l == nil || !l.capped.Load() {
		return nil
	}
	return l.limiter
}
