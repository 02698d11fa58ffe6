// Package byterange is netfox's one notion of a byte range: the half-open
// Range, Split of a length into ranges, and the two translations to and
// from HTTP's inclusive forms (Range.Header, ParseContentRange). It
// imports nothing of netfox, so the protocol layer (siteinfo) and the
// scheduler (segment) both build on it without depending on each other.
//
// It is part of netfox's engine, not its stable API (package netfox):
// its exported names may change between versions.
package byterange

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Range is a half-open byte range [Start, End) of a file. End is exclusive
// everywhere in netfox; only the HTTP header forms (Range, Content-Range)
// use HTTP's inclusive last-byte position, and only Header and
// ParseContentRange translate between the two.
type Range struct {
	Start int64
	End   int64
}

// Len is the number of bytes in the range.
func (r Range) Len() int64 { return r.End - r.Start }

// Header formats the range as an HTTP Range header value. It must not be
// called on an empty range, which HTTP cannot express.
func (r Range) Header() string {
	return fmt.Sprintf("bytes=%d-%d", r.Start, r.End-1)
}

func (r Range) String() string { return fmt.Sprintf("[%d,%d)", r.Start, r.End) }

// Split divides [0, length) into at most n ranges of nearly equal size that
// are never empty, never overlap and cover every byte in order. A length of
// zero yields no ranges; n is clamped to [1, length].
func Split(length int64, n int) []Range {
	if length <= 0 {
		return nil
	}
	if n < 1 {
		n = 1
	}
	if int64(n) > length {
		n = int(length)
	}
	ranges := make([]Range, n)
	size, extra := length/int64(n), length%int64(n)
	var start int64
	for i := range ranges {
		end := start + size
		// The first length%n ranges take one extra byte each, so sizes
		// differ by at most one.
		if int64(i) < extra {
			end++
		}
		ranges[i] = Range{Start: start, End: end}
		start = end
	}
	return ranges
}

// ContentRange is a parsed "bytes first-last/complete" Content-Range value,
// translated to a half-open range. Complete is -1 when the server sent "*".
type ContentRange struct {
	Range
	Complete int64
}

// ErrBadContentRange indicates that a Content-Range header could not be parsed.
var ErrBadContentRange = errors.New("malformed Content-Range")

// ParseContentRange parses a Content-Range header of a 206 response
// (RFC 9110 section 14.4): "bytes first-last/complete" or
// "bytes first-last/*". The unsatisfied form "bytes */complete" belongs to
// 416 responses and is rejected here.
func ParseContentRange(s string) (ContentRange, error) {
	bad := func() (ContentRange, error) {
		return ContentRange{}, fmt.Errorf("%w: %q", ErrBadContentRange, s)
	}
	unit, spec, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok || !strings.EqualFold(unit, "bytes") {
		return bad()
	}
	rangePart, completePart, ok := strings.Cut(strings.TrimSpace(spec), "/")
	if !ok {
		return bad()
	}
	firstPart, lastPart, ok := strings.Cut(rangePart, "-")
	if !ok {
		return bad()
	}
	first, err1 := parseOffset(firstPart)
	last, err2 := parseOffset(lastPart)
	if err1 != nil || err2 != nil || last < first {
		return bad()
	}
	complete := int64(-1)
	if completePart != "*" {
		c, err := parseOffset(completePart)
		if err != nil || last >= c {
			return bad()
		}
		complete = c
	}
	if last == 1<<63-1 { // End would overflow
		return bad()
	}
	return ContentRange{Range: Range{Start: first, End: last + 1}, Complete: complete}, nil
}

// parseOffset parses a non-negative decimal without sign or spaces, as the
// HTTP grammar allows (strconv.ParseInt alone would accept "+5").
func parseOffset(s string) (int64, error) {
	if s == "" || len(s) > 19 {
		return 0, ErrBadContentRange
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, ErrBadContentRange
		}
	}
	return strconv.ParseInt(s, 10, 64)
}
