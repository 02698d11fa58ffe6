// Package clock is the time source of netfox's scheduler (package
// segment): the wall clock in a download, a Fake that a test advances by
// hand, so that rules that depend on time (stalls, slow and silent
// connections, hedges, retry waits, the -n auto search) are tested
// without sleeping and without thresholds on the wall clock.
//
// A nil Clock is the wall clock (Or); Real is its value.
package clock

import (
	"context"
	"time"
)

// Clock tells the time and makes timers and tickers on it.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that sends the time on its channel once,
	// after d.
	NewTimer(d time.Duration) Timer
	// NewTicker returns a ticker that sends the time on its channel
	// every d (d > 0); like time.Ticker, it drops ticks a slow receiver
	// misses, unless the clock says otherwise (Fake does not drop).
	NewTicker(d time.Duration) Ticker
}

// Timer is a one-shot timer of a Clock (time.Timer's subset).
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
}

// Ticker is a periodic timer of a Clock (time.Ticker's subset).
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Real is the wall clock.
type Real struct{}

// Or is c, or the wall clock when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}

func (Real) Now() time.Time { return time.Now() }

func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

func (Real) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

type realTicker struct{ t *time.Ticker }

func (t realTicker) C() <-chan time.Time { return t.t.C }
func (t realTicker) Stop()               { t.t.Stop() }

// Since is the time elapsed on c since t.
func Since(c Clock, t time.Time) time.Duration { return c.Now().Sub(t) }

// Sleep waits on c for d, or until ctx is done and then returns its
// error.
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}
