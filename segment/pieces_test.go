package segment

import (
	"context"
	"testing"
	"time"

	"github.com/netfox/netfox/byterange"
)

func TestPieceLen(t *testing.T) {
	p := Pieces{}.withDefaults()
	const mib = 1 << 20
	tests := []struct {
		name  string
		rate  float64
		left  int64
		conns int
		want  int64
	}{
		{"no rate yet: the first piece", 0, 1 << 30, 8, DefaultFirstPiece},
		{"two seconds at 2 MiB/s", 2 * mib, 1 << 30, 8, 4 * mib},
		{"a slow connection: the smallest piece", 100 << 10, 1 << 30, 8, mib},
		{"a fast one: the largest", 1 << 30, 1 << 40, 8, DefaultMaxPiece},
		{"an even share of what is left", 8 * mib, 32 * mib, 8, 4 * mib},
		{"the share never below the smallest", 8 * mib, 2 * mib, 8, mib},
		{"outside a Run: no share", 2 * mib, 0, 0, 4 * mib},
	}
	for _, tt := range tests {
		if got := p.pieceLen(tt.rate, tt.left, tt.conns); got != tt.want {
			t.Errorf("%s: pieceLen(%v, %d, %d) = %d, want %d", tt.name, tt.rate, tt.left, tt.conns, got, tt.want)
		}
	}
}

// TestStealTakesUnrequestedBytes: a busy segment with a request running
// for its first 4 MiB of 16 gives idle workers the bytes beyond the
// request, first the far half of them, and with pieces and no rate
// measured, never any byte of the running request.
func TestStealTakesUnrequestedBytes(t *testing.T) {
	const mib = 1 << 20
	tb := &Table{MinSplit: mib, pieces: true}
	a := tb.Add(0, 0, 0, 16*mib)
	if tb.Take() != a {
		t.Fatal("Take did not return the only segment")
	}
	_, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	a.beginAttempt(cancel, time.Time{})
	if r, _ := a.askPiece(4 * mib); r != (byterange.Range{Start: 0, End: 4 * mib}) {
		t.Fatalf("asked %v", r)
	}
	first := tb.Take()
	if first == nil || first.Start != 10*mib || first.End() != 16*mib {
		t.Fatalf("first steal: %+v, want [10 MiB, 16 MiB)", first)
	}
	steals := 1
	for e := tb.Take(); e != nil; e = tb.Take() {
		if e.Start < 4*mib {
			t.Fatalf("took [%d, %d) out of the running request", e.Start, e.End())
		}
		steals++
	}
	if a.End() != 4*mib || steals < 3 {
		t.Errorf("after %d steals the running request's segment ends at %d, want %d", steals, a.End(), 4*mib)
	}
	checkSpansTile(t, tb.Snapshot(), 16*mib)
}
