package segment

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/netfox/netfox/byterange"
)

const mib = 1 << 20

// checkSpansTile verifies that a snapshot is sorted by Start, that its
// spans never overlap and together cover [0, length) exactly, and that
// every span has Start <= Synced <= Next <= End.
func checkSpansTile(t testing.TB, spans []Span, length int64) {
	t.Helper()
	var prevEnd int64
	for i, s := range spans {
		if s.Start != prevEnd {
			t.Errorf("span %d %+v starts at %d, want %d (snapshot %+v)", i, s, s.Start, prevEnd, spans)
			return
		}
		if !(s.Start <= s.Synced && s.Synced <= s.Next && s.Next <= s.End) {
			t.Errorf("span %d %+v: want Start <= Synced <= Next <= End", i, s)
			return
		}
		prevEnd = s.End
	}
	if prevEnd != length {
		t.Errorf("snapshot ends at %d, want %d (snapshot %+v)", prevEnd, length, spans)
	}
}

func TestTableTakeIdleOnceThenSteal(t *testing.T) {
	tb := &Table{MinSplit: mib}
	a := tb.Add(0, 0, 0, 10*mib)
	b := tb.Add(10*mib, 12*mib, 11*mib, 20*mib)
	tb.Add(20*mib, 30*mib, 30*mib, 30*mib) // already done: never handed out
	if a.ID == b.ID {
		t.Fatalf("Add gave two segments the ID %d", a.ID)
	}

	if got := tb.Take(); got != a {
		t.Fatalf("first Take = %v, want the first idle segment (ID %d)", got, a.ID)
	}
	if got := tb.Take(); got != b {
		t.Fatalf("second Take = %v, want the second idle segment (ID %d)", got, b.ID)
	}
	// Both are busy now: the third Take steals from a, which has 10 MiB
	// left against b's 8 MiB.
	c := tb.Take()
	if c == nil {
		t.Fatal("third Take = nil, want the far half of a busy segment")
	}
	if c == a || c == b {
		t.Fatalf("third Take returned a busy segment (ID %d) again", c.ID)
	}
	if c.ID == a.ID || c.ID == b.ID {
		t.Errorf("stolen segment reuses ID %d", c.ID)
	}
	if c.Start != 5*mib || c.Next() != 5*mib || c.End() != 10*mib {
		t.Errorf("stolen segment = [%d, next %d, %d), want [5 MiB, next 5 MiB, 10 MiB)", c.Start, c.Next(), c.End())
	}
	if a.End() != 5*mib {
		t.Errorf("victim End = %d, want %d", a.End(), 5*mib)
	}
	if b.End() != 20*mib {
		t.Errorf("non-victim End = %d, want %d", b.End(), 20*mib)
	}
	checkSpansTile(t, tb.Snapshot(), 30*mib)

	// Releasing an unfinished segment makes it idle again: Take hands it
	// out before stealing.
	tb.Release(b)
	if got := tb.Take(); got != b {
		t.Errorf("Take after Release = %v, want the released segment (ID %d)", got, b.ID)
	}
}

func TestTableStealOneBusySegment(t *testing.T) {
	tb := &Table{MinSplit: mib}
	victim := tb.Add(0, 0, 0, 10*mib)
	if got := tb.Take(); got != victim {
		t.Fatalf("Take = %v, want the idle segment", got)
	}
	e := tb.Take()
	if e == nil {
		t.Fatal("Take = nil, want a stolen segment")
	}
	if want := (Span{ID: e.ID, Start: 5 * mib, Next: 5 * mib, Synced: 5 * mib, End: 10 * mib, Busy: true}); spanOf(tb, e.ID) != want {
		t.Errorf("stolen span = %+v, want %+v", spanOf(tb, e.ID), want)
	}
	if victim.End() != 5*mib {
		t.Errorf("victim End = %d, want %d", victim.End(), 5*mib)
	}
	if got := tb.Remaining(); got != 10*mib {
		t.Errorf("Remaining = %d, want %d", got, 10*mib)
	}
	checkSpansTile(t, tb.Snapshot(), 10*mib)
}

// spanOf returns the snapshot span of the entry with the given ID.
func spanOf(tb *Table, id int) Span {
	for _, s := range tb.Snapshot() {
		if s.ID == id {
			return s
		}
	}
	return Span{ID: -1}
}

func TestTableStealThreshold(t *testing.T) {
	tests := []struct {
		name        string
		minSplit    int64
		next, end   int64
		reserved    int64 // bytes reserved above next by the owner
		wantStolen  bool
		wantVictimE int64
	}{
		{"half equals MinSplit", mib, 0, 2 * mib, 0, true, mib},
		{"half one byte below MinSplit", mib, 0, 2*mib - 2, 0, false, 2*mib - 2},
		{"odd remaining rounds half down", mib, 0, 2*mib + 1, 0, true, mib + 1},
		{"progress counts", mib, 8 * mib, 10 * mib, 0, true, 9 * mib},
		{"little left after progress", mib, 9 * mib, 10 * mib, 0, false, 10 * mib},
		{"zero MinSplit means 1 MiB, too small", 0, 0, 2*mib - 2, 0, false, 2*mib - 2},
		{"zero MinSplit means 1 MiB, enough", 0, 0, 2 * mib, 0, true, mib},
		{"negative MinSplit means 1 MiB", -5, 0, mib, 0, false, mib},
		{"small MinSplit", 10, 0, 20, 0, true, 10},
		{"small MinSplit, too small", 10, 0, 19, 0, false, 19},
		// The cut halves what is not yet reserved: a reservation can never
		// end up on the far side of it.
		{"reservation halves the rest", 10, 0, 100, 50, true, 75},
		{"reservation past the middle", 10, 0, 100, 51, true, 76},
		{"reservation leaves too little", 10, 0, 100, 81, false, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := &Table{MinSplit: tt.minSplit}
			victim := tb.Add(0, tt.next, 0, tt.end)
			if got := tb.Take(); got != victim {
				t.Fatalf("Take = %v, want the idle segment", got)
			}
			if tt.reserved > 0 {
				if got := victim.reserve(tt.reserved); got != tt.reserved {
					t.Fatalf("reserve(%d) = %d", tt.reserved, got)
				}
			}
			e := tb.Take()
			if (e != nil) != tt.wantStolen {
				t.Fatalf("second Take = %v, want stolen: %v", e, tt.wantStolen)
			}
			if got := victim.End(); got != tt.wantVictimE {
				t.Errorf("victim End = %d, want %d", got, tt.wantVictimE)
			}
			if e != nil {
				if e.Start != tt.wantVictimE || e.Next() != e.Start || e.End() != tt.end {
					t.Errorf("stolen = [%d, next %d, %d), want [%d, next %d, %d)",
						e.Start, e.Next(), e.End(), tt.wantVictimE, tt.wantVictimE, tt.end)
				}
			}
			checkSpansTile(t, tb.Snapshot(), tt.end)
		})
	}
}

func TestTableTakeNil(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		var tb Table
		if e := tb.Take(); e != nil {
			t.Errorf("Take on an empty table = %+v, want nil", e)
		}
	})
	t.Run("all done", func(t *testing.T) {
		var tb Table
		tb.Add(0, 10, 10, 10)
		tb.Add(10, 20, 15, 20)
		if e := tb.Take(); e != nil {
			t.Errorf("Take with every segment done = %+v, want nil", e)
		}
	})
	t.Run("idle segments are not stolen from", func(t *testing.T) {
		tb := &Table{MinSplit: 1}
		e := tb.Add(0, 0, 0, 100)
		if got := tb.Take(); got != e {
			t.Fatalf("Take = %v, want e", got)
		}
		e.reserve(100)
		e.commit(100)
		tb.Release(e)
		if got := tb.Take(); got != nil {
			t.Errorf("Take with only a done idle segment = %+v, want nil", got)
		}
	})
}

func TestTableStealsLargestRemaining(t *testing.T) {
	tb := &Table{MinSplit: 1}
	small := tb.Add(0, 0, 0, 100)
	large := tb.Add(100, 100, 100, 1100)
	mid := tb.Add(1100, 1100, 1100, 1600)
	for range 3 {
		if tb.Take() == nil {
			t.Fatal("Take = nil while idle segments remain")
		}
	}
	e := tb.Take()
	if e == nil {
		t.Fatal("Take = nil, want a stolen segment")
	}
	if e.Start != 600 || e.End() != 1100 || large.End() != 600 {
		t.Errorf("stole [%d, %d), large now ends at %d; want [600, 1100) and 600", e.Start, e.End(), large.End())
	}
	if small.End() != 100 || mid.End() != 1600 {
		t.Errorf("other segments changed: small End %d, mid End %d", small.End(), mid.End())
	}
}

func TestTableSnapshotSortedAfterSteals(t *testing.T) {
	const length = 64 * mib
	tb := &Table{MinSplit: mib}
	for _, r := range byterange.Split(length, 2) {
		tb.Add(r.Start, r.Start, r.Start, r.End)
	}
	var taken []*Entry
	for {
		e := tb.Take()
		if e == nil {
			break
		}
		taken = append(taken, e)
		spans := tb.Snapshot()
		checkSpansTile(t, spans, length)
		if t.Failed() {
			t.FailNow()
		}
		ids := make(map[int]bool)
		for _, s := range spans {
			if ids[s.ID] {
				t.Fatalf("ID %d appears twice in %+v", s.ID, spans)
			}
			ids[s.ID] = true
		}
	}
	// Each steal halves a piece of at least 2 MiB, so the two 32 MiB
	// segments end up as 64 pieces of 1 MiB.
	if n := len(taken); n != 64 {
		t.Errorf("Take handed out %d segments, want 64", n)
	}
	spans := tb.Snapshot()
	if len(spans) != len(taken) {
		t.Errorf("Snapshot has %d spans, Take handed out %d", len(spans), len(taken))
	}
	for _, s := range spans {
		if !s.Busy {
			t.Errorf("span %+v not busy, but Take handed out every segment", s)
		}
		if l := s.End - s.Start; l != mib {
			t.Errorf("span %+v has length %d, want 1 MiB", s, l)
		}
	}
}

func TestTableMarkSynced(t *testing.T) {
	tb := &Table{MinSplit: mib}
	a := tb.Add(0, 0, 0, 100)
	b := tb.Add(100, 150, 120, 200)
	tb.Take()
	tb.Take()

	a.reserve(40)
	a.commit(40)
	snap := tb.Snapshot()
	// Bytes written after the snapshot must not count as synced.
	a.reserve(30)
	a.commit(30)
	b.reserve(10)
	b.commit(10)
	tb.MarkSynced(snap)

	want := map[int]Span{
		a.ID: {ID: a.ID, Start: 0, Next: 70, Synced: 40, End: 100, Busy: true},
		b.ID: {ID: b.ID, Start: 100, Next: 160, Synced: 150, End: 200, Busy: true},
	}
	for _, s := range tb.Snapshot() {
		if s != want[s.ID] {
			t.Errorf("after MarkSynced: span %+v, want %+v", s, want[s.ID])
		}
	}

	// An older snapshot never lowers Synced.
	old := []Span{{ID: a.ID, Next: 10}, {ID: b.ID, Next: 100}}
	tb.MarkSynced(old)
	if got := spanOf(tb, a.ID).Synced; got != 40 {
		t.Errorf("older snapshot lowered a's Synced to %d, want 40", got)
	}
	if got := spanOf(tb, b.ID).Synced; got != 150 {
		t.Errorf("older snapshot lowered b's Synced to %d, want 150", got)
	}

	// Spans of unknown IDs are ignored; segments missing from the
	// snapshot (such as one stolen after it) keep their Synced.
	tb.MarkSynced([]Span{{ID: 999, Next: 1 << 40}})
	for _, s := range tb.Snapshot() {
		if s.Synced != want[s.ID].Synced {
			t.Errorf("unknown ID changed span %+v, want Synced %d", s, want[s.ID].Synced)
		}
	}

	// A new snapshot brings Synced up to the current Next.
	tb.MarkSynced(tb.Snapshot())
	for _, s := range tb.Snapshot() {
		if s.Synced != s.Next {
			t.Errorf("span %+v: Synced %d, want Next %d", s, s.Synced, s.Next)
		}
	}
}

func TestTableRemaining(t *testing.T) {
	var tb Table
	if got := tb.Remaining(); got != 0 {
		t.Errorf("empty table Remaining = %d, want 0", got)
	}
	tb.Add(0, 30, 0, 100)
	tb.Add(100, 100, 100, 150)
	tb.Add(150, 200, 200, 200)
	if got, want := tb.Remaining(), int64(70+50); got != want {
		t.Errorf("Remaining = %d, want %d", got, want)
	}
}

func TestSegmentReserveCommit(t *testing.T) {
	s := New(100, 110, 200)
	if s.Next() != 110 || s.End() != 200 || s.Remaining() != 90 || s.Done() {
		t.Fatalf("New(100, 110, 200): next %d end %d remaining %d done %v", s.Next(), s.End(), s.Remaining(), s.Done())
	}
	if got := s.reserve(50); got != 50 {
		t.Errorf("reserve(50) = %d, want 50", got)
	}
	// A short read commits less than reserved and returns the rest.
	s.commit(20)
	if got := s.Next(); got != 130 {
		t.Errorf("Next after commit(20) = %d, want 130", got)
	}
	if got := s.reserve(1000); got != 70 {
		t.Errorf("reserve(1000) = %d, want the 70 bytes left", got)
	}
	if got := s.reserve(1); got != 0 {
		t.Errorf("reserve while everything is reserved = %d, want 0", got)
	}
	s.commit(70)
	if !s.Done() || s.Next() != 200 || s.Remaining() != 0 {
		t.Errorf("after writing everything: next %d remaining %d done %v", s.Next(), s.Remaining(), s.Done())
	}
	if got := s.reserve(10); got != 0 {
		t.Errorf("reserve on a done segment = %d, want 0", got)
	}
}

// TestTableConcurrent runs workers that take segments, write them in
// chunks and steal from each other, while another goroutine checks
// snapshots. Run it with -race.
func TestTableConcurrent(t *testing.T) {
	tests := []struct {
		length   int64
		initial  int
		workers  int
		minSplit int64
		chunk    int64
	}{
		{1<<20 + 12345, 1, 8, 1024, 100},
		{1 << 20, 4, 4, 1, 64},
		{4096, 1, 16, 1, 1},
		{1, 1, 4, 1, 7},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("length=%d/initial=%d/workers=%d/minsplit=%d/chunk=%d",
			tt.length, tt.initial, tt.workers, tt.minSplit, tt.chunk)
		t.Run(name, func(t *testing.T) {
			tb := &Table{MinSplit: tt.minSplit}
			for _, r := range byterange.Split(tt.length, tt.initial) {
				tb.Add(r.Start, r.Start, r.Start, r.End)
			}

			// written[w] lists the ranges worker w wrote.
			written := make([][]byterange.Range, tt.workers)
			var wg sync.WaitGroup
			for w := range tt.workers {
				wg.Go(func() {
					for {
						e := tb.Take()
						if e == nil {
							return
						}
						for {
							at := e.Next()
							n := e.reserve(tt.chunk)
							if n == 0 {
								break
							}
							written[w] = append(written[w], byterange.Range{Start: at, End: at + n})
							e.commit(n)
							runtime.Gosched() // let thieves and snapshots in between writes
						}
						tb.Release(e)
					}
				})
			}

			stop := make(chan struct{})
			checked := make(chan int)
			go func() {
				n := 0
				last := make(map[int]Span)
				defer func() { checked <- n }()
				for {
					select {
					case <-stop:
						return
					default:
					}
					spans := tb.Snapshot()
					n++
					if !slices.IsSortedFunc(spans, func(a, b Span) int { return cmp.Compare(a.Start, b.Start) }) {
						t.Errorf("snapshot not sorted: %+v", spans)
						return
					}
					checkSpansTile(t, spans, tt.length)
					for _, s := range spans {
						if p, ok := last[s.ID]; ok && (s.Next < p.Next || s.End > p.End || s.Start != p.Start) {
							t.Errorf("span %d went from %+v to %+v", s.ID, p, s)
						}
						last[s.ID] = s
					}
					tb.MarkSynced(spans)
					if t.Failed() {
						return
					}
				}
			}()
			wg.Wait()
			close(stop)
			snapshots := <-checked

			spans := tb.Snapshot()
			checkSpansTile(t, spans, tt.length)
			var sum int64
			for _, s := range spans {
				if s.Next != s.End || s.Busy {
					t.Errorf("span %+v not done or still busy", s)
				}
				sum += s.Next - s.Start
			}
			if sum != tt.length {
				t.Errorf("sum of written spans = %d, want %d", sum, tt.length)
			}
			if got := tb.Remaining(); got != 0 {
				t.Errorf("Remaining = %d, want 0", got)
			}
			t.Logf("%d segments in the end, %d snapshots checked", len(spans), snapshots)

			// Every byte was written exactly once.
			var all []byterange.Range
			for _, ws := range written {
				all = append(all, ws...)
			}
			slices.SortFunc(all, func(a, b byterange.Range) int { return cmp.Compare(a.Start, b.Start) })
			var next int64
			for _, r := range all {
				if r.Start != next {
					t.Fatalf("written chunk %v follows byte %d: gap or overlap", r, next)
				}
				next = r.End
			}
			if next != tt.length {
				t.Errorf("writes end at %d, want %d", next, tt.length)
			}
		})
	}
}

// TestStealByExpectedTime: the victim is the segment that will take
// longest at its connection's rate, not the one with most bytes left.
func TestStealByExpectedTime(t *testing.T) {
	tb := &Table{MinSplit: 1}
	big := tb.Add(0, 0, 0, 100<<20)              // 100 MiB left at 100 MiB/s: 1 s
	slow := tb.Add(100<<20, 100<<20, 0, 110<<20) // 10 MiB left at 1 MiB/s: 10 s
	tb.Add(110<<20, 110<<20, 0, 120<<20)         // unmeasured: the median rate
	for range 3 {
		tb.Take()
	}
	big.setRate(100 << 20)
	slow.setRate(1 << 20)
	e := tb.Take()
	if e == nil || e.Start != 105<<20 || slow.End() != 105<<20 {
		t.Fatalf("stole %v; want the far half of the slow segment, [105 MiB, 110 MiB)", e)
	}
}

// TestTailSplitsSmaller: in the tail, a slow segment is split below
// MinSplit when it would otherwise hold up the end for over a second.
func TestTailSplitsSmaller(t *testing.T) {
	tb := &Table{MinSplit: 1 << 20}
	slow := tb.Add(0, 0, 0, 1<<20) // 1 MiB left at 256 KiB/s: 4 s
	fast := tb.Add(1<<20, 1<<20, 0, 2<<20)
	tb.Take()
	tb.Take()
	slow.setRate(256 << 10)
	fast.setRate(8 << 20)
	e := tb.Take()
	if e == nil || e.Start != 512<<10 {
		t.Fatalf("stole %v; want [512 KiB, 1 MiB) of the slow segment", e)
	}
	// Without rates, a piece of half a MiB is below MinSplit: no split.
	tb2 := &Table{MinSplit: 1 << 20}
	tb2.Add(0, 0, 0, 1<<20)
	tb2.Take()
	if e := tb2.Take(); e != nil {
		t.Fatalf("split an unmeasured segment below MinSplit: %v", e)
	}
}

// BenchmarkTakeSteal measures handing out work once the plan is used up:
// every Take cuts a busy segment in two.
func BenchmarkTakeSteal(b *testing.B) {
	for b.Loop() {
		tb := &Table{MinSplit: 1}
		tb.Add(0, 0, 0, 1<<40)
		for range 64 {
			tb.Take()
		}
	}
}
