package daemon

import (
	"encoding/hex"

	"github.com/netfox/netfox"
)

// pieceLength is the piece size the daemon reports, aria2's default for
// HTTP downloads (1 MiB).
const pieceLength = 1 << 20

// bitfield is aria2's bitfield of a download of length bytes whose written
// ranges are spans' [Start, Next): one bit per piece, the high bit first,
// set when the whole piece is written; hex, with the piece count.
func bitfield(length int64, spans []netfox.Span) (hexBits string, pieces int64) {
	if length <= 0 {
		return "", 0
	}
	pieces = (length + pieceLength - 1) / pieceLength
	bits := make([]byte, (pieces+7)/8)
	for p := int64(0); p < pieces; p++ {
		start := p * pieceLength
		end := min(start+pieceLength, length)
		if covered(start, end, spans) {
			bits[p/8] |= 0x80 >> (p % 8)
		}
	}
	return hex.EncodeToString(bits), pieces
}

// covered reports whether [start, end) lies within the written part of
// one span. netfox's spans do not overlap, and a piece across two spans'
// boundary is covered when both halves are.
func covered(start, end int64, spans []netfox.Span) bool {
	for start < end {
		advanced := false
		for _, s := range spans {
			if s.Start <= start && start < s.Next {
				start = s.Next
				advanced = true
				break
			}
		}
		if !advanced {
			return false
		}
	}
	return true
}
