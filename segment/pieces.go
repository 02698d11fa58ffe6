package segment

import "time"

// Pieces. A request for a whole segment has to be cut short when another
// connection takes part of it over (a steal), and whatever the server had
// already sent for the cut part is paid for and dropped, along with the
// connection. So with Fetcher.Pieces a connection asks for its segment a
// piece at a time, each sized to what the connection delivers in a few
// seconds at its measured rate, the next one asked on the same
// connection as soon as the last has arrived (HTTP keep-alive). The bytes
// of a segment beyond its running request belong to no request yet: an
// idle connection takes them (Segment.cutUnrequested) without cutting
// anything. A connection's first piece is small (1 MiB), so that a slow
// one holds little before its rate is known. Toward the end, pieces
// shrink to an even share of what is left, so that the connections
// finish together; a running request is cut only when it would run on
// for long (endgameSeconds) at its measured rate, which happens on a
// slow connection, whose bytes in flight are few.

// Pieces sizes the requests of a Fetcher's connections. A zero field
// means its default.
type Pieces struct {
	// Min and Max bound a piece.
	Min, Max int64
	// First is a connection's first piece, before its rate is known.
	First int64
	// Seconds is how long a piece should take at its connection's rate.
	Seconds float64
}

// The defaults of Pieces.
const (
	DefaultMinPiece     = 1 << 20
	DefaultMaxPiece     = 64 << 20
	DefaultFirstPiece   = 1 << 20
	DefaultPieceSeconds = 2
)

// endgameSeconds is how long a request must be expected to run on for an
// idle connection to cut it, with pieces.
const endgameSeconds = 1.0

// withDefaults is p with its zero fields set to their defaults.
func (p Pieces) withDefaults() Pieces {
	if p.Min <= 0 {
		p.Min = DefaultMinPiece
	}
	if p.Max <= 0 {
		p.Max = DefaultMaxPiece
	}
	if p.First <= 0 {
		p.First = DefaultFirstPiece
	}
	if p.Seconds <= 0 {
		p.Seconds = DefaultPieceSeconds
	}
	return p
}

// pieceLen is the length of a connection's next request: Seconds at its
// measured rate (First while it has none), no more than an even share of
// the left bytes over the conns connections busy, within [Min, Max].
func (p Pieces) pieceLen(rate float64, left int64, conns int) int64 {
	n := p.First
	if rate > 0 {
		n = int64(rate * p.Seconds)
	}
	if conns > 0 {
		n = min(n, left/int64(conns))
	}
	return min(max(n, p.Min), p.Max)
}

// pieceSizer sizes the requests of one attempt (one connection) of a
// segment.
type pieceSizer struct {
	f     *Fetcher
	s     *Segment
	table *Table  // the Run's, for the share of what is left; nil outside Run
	rate  float64 // bytes/s of the connection's last piece; 0 unknown
}

func (f *Fetcher) newPieces(s *Segment, w *worker) *pieceSizer {
	p := &pieceSizer{f: f, s: s}
	if w != nil {
		p.table = w.pool.table
	}
	return p
}

// first is the length of the attempt's first request, 0 for all the
// segment has left: the kept answer of the download's first request at
// byte 0 (Fetcher.FirstPiece), else a piece.
func (p *pieceSizer) first() int64 {
	if p.s.Next() == 0 && p.f.FirstPiece > 0 {
		return p.f.FirstPiece
	}
	return p.next()
}

// next is the length of the attempt's next request, 0 for all the
// segment has left.
func (p *pieceSizer) next() int64 {
	if p.f.Pieces == nil {
		return 0
	}
	var left int64
	var conns int
	if p.table != nil {
		left, conns = p.table.load()
	}
	return p.f.Pieces.withDefaults().pieceLen(p.rate, left, conns)
}

// measured records that a request brought n bytes in d, from the moment
// it was sent.
func (p *pieceSizer) measured(n int64, d time.Duration) {
	if n > 0 && d > 0 {
		p.rate = float64(n) / d.Seconds()
	}
}
