package segment

import "time"

// Slow connections. A server or path that caps connections unevenly
// often gives a new connection a better lot, so a connection that runs
// far below the others is replaced (ErrSlowConnection) and its range goes
// on from the byte reached. Three things make that a gain and not a loop
// of new connections:
//
//   - a connection is judged at its steady rate: a new request's first
//     moments are not its rate (TCP slow start; nginx's limit_rate sends
//     its first second at once, so that a young request looks several
//     times faster than an old one on the same cap). Its rate counts only
//     over a window that starts one window after its response headers;
//   - it must stay below the median / ratio for slowPersist windows in a
//     row, not dip there once;
//   - a replacement is a trial: once the successor's steady rate is
//     measured, a successor no faster than the connection it replaced
//     (by successorGain) shows that the server caps its connections
//     alike, and the server's connections are not replaced again in this
//     Run.

// slowPersist is how many windows in a row a connection must stay slow
// to be replaced.
const slowPersist = 2

// successorGain is how much faster than the connection it replaced a
// successor must run for the replacement to have paid.
const successorGain = 1.5

// slowRule is a Run's slow-connection rule: the measurement window and
// the ratio to the median below which a connection is slow.
type slowRule struct {
	Window time.Duration
	Ratio  float64
}

// slowFacts are what the rule weighs for one connection.
type slowFacts struct {
	// Steady reports whether Rate is the connection's steady rate:
	// measured over a whole window that began after its warm-up.
	Steady bool
	// Rate is its steady rate and Median the median of the steady rates
	// of the Run's connections, in bytes per second.
	Rate, Median float64
	// Peers is how many connections have a steady rate (this one
	// included): a median of fewer than three says little.
	Peers int
	// SlowFor is how long it has been measured below Median/Ratio
	// without a break (0: it is not).
	SlowFor time.Duration
	// Remaining is the bytes its segment has left.
	Remaining int64
	// Futile reports that a replacement on the same server gave a
	// successor no faster than the connection it replaced.
	Futile bool
	// Budget reports whether the Run may still replace connections
	// (Fetcher.MaxReconnects).
	Budget bool
}

// slowVerdict is what the rule says about one connection.
type slowVerdict int

const (
	slowKeep      slowVerdict = iota // not slow, or not measured at steady state yet
	slowPending                      // below the others, not for long enough yet
	slowFinishing                    // slow, but finishing within a window: not worth a new connection
	slowFutile                       // slow, but the server caps its connections alike
	slowNoBudget                     // slow, but the Run's reconnect budget is spent
	slowReplace                      // replace it
)

// isSlow reports whether a steady rate is below the median by the rule's
// ratio.
func (r slowRule) isSlow(rate, median float64) bool {
	return median > 0 && rate < median/r.Ratio
}

// judgeSlow applies the slow-connection rule to one connection.
func judgeSlow(f slowFacts, r slowRule) slowVerdict {
	switch {
	case !f.Steady || f.Peers < 3 || !r.isSlow(f.Rate, f.Median):
		return slowKeep
	case f.SlowFor < slowPersist*r.Window:
		return slowPending
	case float64(f.Remaining) <= f.Rate*r.Window.Seconds():
		return slowFinishing
	case f.Futile:
		return slowFutile
	case !f.Budget:
		return slowNoBudget
	}
	return slowReplace
}

// successorFaster reports whether a successor's steady rate shows its
// predecessor's replacement paid.
func successorFaster(predecessor, successor float64) bool {
	return successor >= predecessor*successorGain
}
