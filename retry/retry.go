// Package retry is netfox's one retry policy, shared by the probe, the
// segments and the protocol layer:
//
//   - which failures are worth another try: IsPermanent says no for an
//     error marked with Permanent (or any error whose Permanent method
//     says so, such as a 404) and for a context that ended; every other
//     error is transient;
//   - what the server said about it: IsOverloaded (429, 503: fewer
//     connections would serve it better) and After (its Retry-After);
//   - how long to wait before the next try (Backoff) and the wait itself
//     (Sleep).
//
// It imports nothing of netfox. Errors take part by their methods
// (Permanent() bool, Overloaded() bool, RetryAfter() time.Duration), so
// that the packages defining them need not import this one.
//
// It is part of netfox's engine, not its stable API (package netfox):
// its exported names may change between versions.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Defaults of the policy; zero in an options struct means these.
const (
	// DefaultTries is the attempts of one request, or of one segment
	// without progress, before it fails.
	DefaultTries = 5
	// DefaultBase is the first backoff wait, doubled per failed try.
	DefaultBase = 250 * time.Millisecond
	// DefaultCeiling is the longest backoff wait.
	DefaultCeiling = 10 * time.Second
)

// permanent marks an error that retrying cannot fix.
type permanent struct{ error }

func (permanent) Permanent() bool { return true }
func (e permanent) Unwrap() error { return e.error }

// Permanent marks err as not worth a retry, keeping its message and
// chain: a response that contradicts the request, a remote file that
// changed, a full disk.
func Permanent(err error) error { return permanent{err} }

// IsPermanent reports whether err should stop the work rather than be
// retried: a context that was canceled or passed its deadline, or an
// error in the chain whose Permanent method says so.
func IsPermanent(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// IsOverloaded reports whether err says the server is overloaded (429
// Too Many Requests, 503 Service Unavailable, FTP 421): fewer connections
// would serve it better.
func IsOverloaded(err error) bool {
	var o interface{ Overloaded() bool }
	return errors.As(err, &o) && o.Overloaded()
}

// After is the wait the server asked for with err (Retry-After), zero
// when it did not.
func After(err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return max(ra.RetryAfter(), 0)
	}
	return 0
}

// Backoff is the wait before try number failures+1 of a request that
// failed with err: exponential from base (zero means DefaultBase) up to
// ceiling (zero means DefaultCeiling), with full jitter, so that
// connections cut at the same instant do not reconnect in lockstep; but
// never shorter than the server's Retry-After, which may extend it up to
// five times ceiling.
func Backoff(failures int, base, ceiling time.Duration, err error) time.Duration {
	if base <= 0 {
		base = DefaultBase
	}
	if ceiling <= 0 {
		ceiling = DefaultCeiling
	}
	d := base << min(max(failures-1, 0), 16)
	if d > ceiling || d <= 0 {
		d = ceiling
	}
	d = d/2 + rand.N(d/2+1)
	if ra := After(err); ra > d {
		d = min(ra, 5*ceiling)
	}
	return d
}

// Sleep waits for d, or until ctx is done and then returns its error.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
