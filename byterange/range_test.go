package byterange

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

// checkSplitInvariants verifies that ranges is a valid result of
// Split(length, n): non-empty ranges, contiguous from 0 to length without
// overlap, min(max(n, 1), length) of them, with sizes that differ by at
// most one byte.
func checkSplitInvariants(t *testing.T, length int64, n int, ranges []Range) {
	t.Helper()
	wantCount := int64(0)
	if length > 0 {
		wantCount = min(max(int64(n), 1), length)
	}
	if int64(len(ranges)) != wantCount {
		t.Fatalf("Split(%d, %d) returned %d ranges, want %d", length, n, len(ranges), wantCount)
	}
	if len(ranges) == 0 {
		return
	}
	var next int64
	minLen, maxLen := int64(math.MaxInt64), int64(math.MinInt64)
	for i, r := range ranges {
		if r.Start != next {
			t.Fatalf("Split(%d, %d)[%d] = %v, want Start %d (gap or overlap)", length, n, i, r, next)
		}
		if r.Len() <= 0 {
			t.Fatalf("Split(%d, %d)[%d] = %v is empty", length, n, i, r)
		}
		minLen, maxLen = min(minLen, r.Len()), max(maxLen, r.Len())
		next = r.End
	}
	if next != length {
		t.Fatalf("Split(%d, %d) ends at %d, want %d", length, n, next, length)
	}
	if maxLen-minLen > 1 {
		t.Fatalf("Split(%d, %d) sizes range from %d to %d, want a difference of at most 1", length, n, minLen, maxLen)
	}
}

func TestSplit(t *testing.T) {
	type test struct {
		length int64
		n      int
	}
	var tests []test
	for _, n := range []int{1, 2, 8, 32} {
		for _, length := range []int64{0, 1, int64(n) - 1, int64(n), int64(n) + 1} {
			tests = append(tests, test{length, n})
		}
	}
	tests = append(tests,
		test{64 << 20, 1},
		test{64 << 20, 8},
		test{64 << 20, 32},
		test{64<<20 + 7, 32},
		test{100, 0},             // n < 1 is clamped to 1
		test{100, -1},            // likewise
		test{100, math.MinInt},   // likewise
		test{3, 1000},            // n > length is clamped to length
		test{5, math.MaxInt},     // likewise
		test{0, 0},               // nothing to split
		test{-1, 4},              // a negative length yields no ranges
		test{1 << 40, 16},        // a terabyte
		test{math.MaxInt64, 3},   // the largest length
		test{math.MaxInt64, 100}, // with a remainder
	)
	for _, tt := range tests {
		t.Run(fmt.Sprintf("length=%d/n=%d", tt.length, tt.n), func(t *testing.T) {
			checkSplitInvariants(t, tt.length, tt.n, Split(tt.length, tt.n))
		})
	}
}

func TestSplitExact(t *testing.T) {
	tests := []struct {
		length int64
		n      int
		want   []Range
	}{
		{0, 4, nil},
		{1, 4, []Range{{0, 1}}},
		{10, 1, []Range{{0, 10}}},
		{10, 3, []Range{{0, 4}, {4, 7}, {7, 10}}},
		{64 << 20, 2, []Range{{0, 32 << 20}, {32 << 20, 64 << 20}}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("length=%d/n=%d", tt.length, tt.n), func(t *testing.T) {
			got := Split(tt.length, tt.n)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || len(got) != len(tt.want) {
				t.Errorf("Split(%d, %d) = %v, want %v", tt.length, tt.n, got, tt.want)
			}
		})
	}
}

func FuzzSplit(f *testing.F) {
	f.Add(int64(0), 1)
	f.Add(int64(1), 1)
	f.Add(int64(7), 8)
	f.Add(int64(64<<20), 32)
	f.Add(int64(1<<40), 4096)
	f.Add(int64(100), -3)
	f.Fuzz(func(t *testing.T, length int64, n int) {
		// Bound length to [0, 1<<40] and n to (-4096, 4096), so that a
		// run never allocates more than a few thousand ranges.
		if length < 0 {
			length = -(length + 1)
		}
		length %= 1<<40 + 1
		n %= 4096
		checkSplitInvariants(t, length, n, Split(length, n))
	})
}

func TestRangeHeader(t *testing.T) {
	tests := []struct {
		r    Range
		want string
	}{
		{Range{0, 10}, "bytes=0-9"},
		{Range{0, 1}, "bytes=0-0"},
		{Range{5, 6}, "bytes=5-5"},
		{Range{1 << 30, 1<<31 + 1}, "bytes=1073741824-2147483648"},
		{Range{0, math.MaxInt64}, "bytes=0-9223372036854775806"},
	}
	for _, tt := range tests {
		t.Run(tt.r.String(), func(t *testing.T) {
			if got := tt.r.Header(); got != tt.want {
				t.Errorf("%v.Header() = %q, want %q", tt.r, got, tt.want)
			}
		})
	}
}

func TestRangeLenString(t *testing.T) {
	r := Range{Start: 3, End: 10}
	if got := r.Len(); got != 7 {
		t.Errorf("%v.Len() = %d, want 7", r, got)
	}
	if got := r.String(); got != "[3,10)" {
		t.Errorf("String() = %q, want %q", got, "[3,10)")
	}
}

func TestParseContentRange(t *testing.T) {
	valid := []struct {
		in   string
		want ContentRange
	}{
		{"bytes 0-9/100", ContentRange{Range{0, 10}, 100}},
		{"bytes 0-0/1", ContentRange{Range{0, 1}, 1}},
		{"bytes 5-9/*", ContentRange{Range{5, 10}, -1}},
		{"bytes 0-9/10", ContentRange{Range{0, 10}, 10}},
		{"BYTES 0-9/10", ContentRange{Range{0, 10}, 10}},
		{"Bytes 0-9/10", ContentRange{Range{0, 10}, 10}},
		{"  bytes 0-9/10  ", ContentRange{Range{0, 10}, 10}},
		{"bytes   0-9/10", ContentRange{Range{0, 10}, 10}},
		{"\tbytes 0-9/10\r\n", ContentRange{Range{0, 10}, 10}},
		{"bytes 007-009/010", ContentRange{Range{7, 10}, 10}},
		{"bytes 0-9223372036854775806/*", ContentRange{Range{0, math.MaxInt64}, -1}},
		{"bytes 9223372036854775806-9223372036854775806/9223372036854775807",
			ContentRange{Range{math.MaxInt64 - 1, math.MaxInt64}, math.MaxInt64}},
	}
	for _, tt := range valid {
		t.Run(fmt.Sprintf("valid/%q", tt.in), func(t *testing.T) {
			got, err := ParseContentRange(tt.in)
			if err != nil {
				t.Fatalf("ParseContentRange(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseContentRange(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}

	invalid := []string{
		"",
		"   ",
		"bytes",
		"bytes ",
		"bytes 9-0/10",  // last < first
		"bytes 1-0/*",   // likewise
		"bytes 0-10/10", // last >= complete
		"bytes 0-9/9",   // likewise
		"bytes 0-0/0",   // likewise, empty file
		"bytes */100",   // the 416 form
		"bytes */*",
		"bytes -1-5/10",
		"bytes +1-5/10",
		"bytes 1-+5/10",
		"bytes 0-9/+10",
		"bytes 0-9/-10",
		"bytes 0--9/10",
		"items 0-9/10",
		"bytes=0-9/10",
		"bytes0-9/10",
		"bytes 0-9/abc",
		"bytes 0-9",
		"bytes 0-9/",
		"bytes 0-/10",
		"bytes -9/10",
		"bytes -/10",
		"bytes 0 - 9/10",
		"bytes 0-9 /10",
		"bytes 0-9/ 10",
		"bytes 0-9/10/10",
		"bytes 0-9/*/*",
		"bytes 0-9/10 extra",
		"bytes 0x0-0x9/10",
		"bytes 0-9/1e3",
		"bytes 0.0-9/10",
		"bytes \uff10-9/10",                   // fullwidth digit zero
		"bytes 0-9223372036854775807/*",       // End would overflow
		"bytes 0-9223372036854775808/*",       // last overflows int64
		"bytes 0-99999999999999999999/*",      // 20 digits
		"bytes 0-9/9223372036854775808",       // complete overflows int64
		"bytes 0-9/99999999999999999999",      // 20 digits
		"bytes 99999999999999999999-1/*",      // first overflows
		"bytes 0-9/0000000000000000000000010", // too many digits, though small
	}
	for _, in := range invalid {
		t.Run(fmt.Sprintf("invalid/%q", in), func(t *testing.T) {
			got, err := ParseContentRange(in)
			if err == nil {
				t.Fatalf("ParseContentRange(%q) = %+v, want error", in, got)
			}
			if !errors.Is(err, ErrBadContentRange) {
				t.Errorf("ParseContentRange(%q) error %v does not wrap ErrBadContentRange", in, err)
			}
			if got != (ContentRange{}) {
				t.Errorf("ParseContentRange(%q) returned %+v with its error, want the zero value", in, got)
			}
		})
	}
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{
		"bytes 0-9/100",
		"bytes 0-0/1",
		"bytes 5-9/*",
		"BYTES 0-9/10",
		" bytes 0-9/10 ",
		"bytes */100",
		"bytes 9-0/10",
		"bytes +1-5/10",
		"bytes 0-9223372036854775807/*",
		"bytes 9223372036854775806-9223372036854775806/9223372036854775807",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cr, err := ParseContentRange(s)
		if err != nil {
			if !errors.Is(err, ErrBadContentRange) {
				t.Fatalf("ParseContentRange(%q) error %v does not wrap ErrBadContentRange", s, err)
			}
			return
		}
		if !(0 <= cr.Start && cr.Start < cr.End) {
			t.Fatalf("ParseContentRange(%q) = %+v: want 0 <= Start < End", s, cr)
		}
		if cr.Complete != -1 && !(cr.End <= cr.Complete) {
			t.Fatalf("ParseContentRange(%q) = %+v: want Complete == -1 or End <= Complete", s, cr)
		}
		complete := "*"
		if cr.Complete != -1 {
			complete = fmt.Sprint(cr.Complete)
		}
		again := fmt.Sprintf("bytes %d-%d/%s", cr.Start, cr.End-1, complete)
		cr2, err := ParseContentRange(again)
		if err != nil {
			t.Fatalf("ParseContentRange(%q) = %+v, but its canonical form %q fails: %v", s, cr, again, err)
		}
		if cr2 != cr {
			t.Fatalf("ParseContentRange(%q) = %+v, but its canonical form %q parses to %+v", s, cr, again, cr2)
		}
	})
}

func BenchmarkSplit(b *testing.B) {
	for b.Loop() {
		Split(1<<40, 32)
	}
}
