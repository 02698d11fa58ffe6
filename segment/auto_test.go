package segment

import (
	"math"
	"testing"
	"time"
)

// settle runs a tuner from start over the rate curve (aggregate rate at n
// connections) until it stops, and returns the count, the reason and the
// counts measured in order.
func settle(t *testing.T, start, maxN int, curve func(n int) float64) (int, Reason, []int) {
	t.Helper()
	tu := newTuner(start, maxN, 0.10)
	var seen []int
	for i := 0; !tu.done(); i++ {
		if i > maxN+1 {
			t.Fatalf("no decision after %d measurements: %v", i, seen)
		}
		seen = append(seen, tu.n)
		tu.measured(curve(tu.n))
	}
	return tu.n, tu.reason, seen
}

// capped is a server with a per-connection cap and a link cap.
func capped(perConn, link float64) func(int) float64 {
	return func(n int) float64 { return math.Min(float64(n)*perConn, link) }
}

func TestTunerCurves(t *testing.T) {
	cases := []struct {
		name       string
		start, max int
		curve      func(int) float64
		want       int
		reason     Reason
	}{
		{"2MiB per conn, 16MiB link", 4, 16, capped(2*mib, 16*mib), 8, ReasonGain},
		{"2MiB per conn, 16MiB link, cached 8", 8, 16, capped(2*mib, 16*mib), 8, ReasonGain},
		{"2MiB per conn, 16MiB link, cached 12", 12, 16, capped(2*mib, 16*mib), 12, ReasonGain},
		{"no cap at all", 4, 16, capped(2*mib, math.Inf(1)), 16, ReasonMax},
		{"no cap, max 6", 4, 6, capped(2*mib, math.Inf(1)), 6, ReasonMax},
		{"link already full", 4, 16, capped(8*mib, 16*mib), 4, ReasonGain},
		{"more connections are slower", 4, 16, func(n int) float64 { return 100 * mib / float64(n) }, 4, ReasonGain},
		{"small gains only", 4, 16, func(n int) float64 { return 10*mib + float64(n)*0.01*mib }, 4, ReasonGain},
		{"start at max", 16, 16, capped(2*mib, 16*mib), 16, ReasonMax},
		{"start above max", 40, 16, capped(2*mib, 16*mib), 16, ReasonMax},
		{"start zero", 0, 16, capped(2*mib, 16*mib), 8, ReasonGain},
		{"2MiB per conn, 24MiB link", 4, 16, capped(2*mib, 24*mib), 16, ReasonMax},
		{"2MiB per conn, 17MiB link: the last step adds 6%", 4, 16, capped(2*mib, 17*mib), 8, ReasonGain},
		{"1MiB per conn, 6MiB link", 4, 16, capped(1*mib, 6*mib), 6, ReasonGain},
		{"1MiB per conn, 5MiB link: 4 -> 8 adds 25%", 4, 16, capped(1*mib, 5*mib), 5, ReasonGain},
		{"2MiB per conn, 20MiB link", 4, 16, capped(2*mib, 20*mib), 16, ReasonMax},
		{"2MiB per conn, 12MiB link, cached 3", 3, 16, capped(2*mib, 12*mib), 6, ReasonGain},
		{"3 start, max 10", 3, 10, capped(1*mib, 100*mib), 10, ReasonMax},
		{"max one", 4, 1, capped(2*mib, 16*mib), 1, ReasonMax},
		{"nothing arrives", 4, 16, func(int) float64 { return 0 }, 4, ReasonGain},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, reason, seen := settle(t, c.start, c.max, c.curve)
			if n != c.want || reason != c.reason {
				t.Errorf("settled at %d (%s) after %v, want %d (%s)", n, reason, seen, c.want, c.reason)
			}
		})
	}
}

func TestTunerOverloaded(t *testing.T) {
	tu := newTuner(4, 16, 0.10)
	tu.measured(8 * mib) // 4 -> 8
	if tu.n != 8 {
		t.Fatalf("after a paying first step n = %d, want 8", tu.n)
	}
	if n := tu.overloaded(4); n != 4 || tu.reason != ReasonOverloaded || !tu.done() {
		t.Fatalf("overloaded(4) = %d (%s, done %v), want 4, overloaded, done", n, tu.reason, tu.done())
	}
	if n := tu.measured(1000 * mib); n != 4 {
		t.Errorf("a measurement after overload moved the count to %d", n)
	}
	if n := tu.overloaded(0); n != 1 {
		t.Errorf("overloaded(0) = %d, want 1", n)
	}
}

// FuzzTuner checks the tuner's decisions on arbitrary rate curves: it
// stops within max measurements, stays within [1, max], only keeps a
// count whose step paid, and never ends on a step that did not.
func FuzzTuner(f *testing.F) {
	f.Add(uint8(4), uint8(16), []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(uint8(1), uint8(32), []byte{9, 9, 9})
	f.Add(uint8(8), uint8(8), []byte{})
	f.Fuzz(func(t *testing.T, start, maxN uint8, rates []byte) {
		curve := func(n int) float64 {
			if len(rates) == 0 {
				return float64(n)
			}
			return float64(rates[n%len(rates)]) * mib
		}
		m := int(maxN%64) + 1
		tu := newTuner(int(start), m, 0.10)
		measured := map[int]float64{}
		var order []int
		for i := 0; !tu.done(); i++ {
			if i > m {
				t.Fatalf("no decision after %d measurements", i)
			}
			if tu.n < 1 || tu.n > m {
				t.Fatalf("count %d outside [1, %d]", tu.n, m)
			}
			r := curve(tu.n)
			measured[tu.n] = r
			order = append(order, tu.n)
			tu.measured(r)
		}
		n := tu.n
		if n < 1 || n > m {
			t.Fatalf("settled at %d outside [1, %d]", n, m)
		}
		for i := 1; i < len(order); i++ {
			if order[i] <= order[i-1] {
				t.Fatalf("counts measured do not rise: %v", order)
			}
		}
		if len(order) == 0 {
			return // started at max
		}
		if tu.reason != ReasonGain {
			if n != order[len(order)-1] {
				t.Fatalf("stopped (%s) at %d, not the last count measured: %v", tu.reason, n, order)
			}
			return
		}
		// The last step did not pay and was given back; n lies within the
		// last step that did (or is the first count).
		k := len(order) - 1
		last, kept := order[k], order[k-1]
		if measured[last] > measured[kept]*1.10 {
			t.Fatalf("gave back %d -> %d though it paid: %v", last, kept, measured)
		}
		lo := 0
		if k >= 2 {
			lo = order[k-2]
		}
		if n <= lo || n > kept {
			t.Fatalf("settled at %d, outside (%d, %d]: %v", n, lo, kept, order)
		}
		// Every kept step raised the rate by the gain.
		for i := 1; i < k; i++ {
			if measured[order[i]] <= measured[order[i-1]]*1.10 {
				t.Fatalf("kept step %d -> %d that did not pay: %v", order[i-1], order[i], measured)
			}
		}
	})
}

// TestGiveBackMerges: a range cut off a running segment and given back
// unfetched goes back to that segment while its request covers it, and
// to the table otherwise.
func TestGiveBackMerges(t *testing.T) {
	tb := &Table{MinSplit: 1}
	a := tb.Add(0, 100, 0, 1000)
	if tb.Take() != a {
		t.Fatal("Take did not return the only segment")
	}
	a.beginAttempt(func(error) {}, time.Time{})
	a.askPiece(0)    // a request for [100, 1000)
	cut := tb.Take() // steals the far half
	if cut == nil || cut.Start != a.End() || cut.End() != 1000 {
		t.Fatalf("steal: got %+v, a ends at %d", cut, a.End())
	}
	tb.GiveBack(cut)
	if a.End() != 1000 || !cut.Done() || cut.Remaining() != 0 {
		t.Fatalf("after give-back a ends at %d, cut remaining %d; want 1000 and 0", a.End(), cut.Remaining())
	}
	if tb.Remaining() != 900 {
		t.Errorf("table remaining %d, want 900", tb.Remaining())
	}

	// Between attempts there is no request to extend: the range stays.
	cut = tb.Take()
	a.endAttempt()
	end := a.End()
	tb.GiveBack(cut)
	if a.End() != end || cut.Done() {
		t.Errorf("without a running request a grew to %d (was %d), cut done %v", a.End(), end, cut.Done())
	}
	if tb.Take() != cut {
		t.Error("the given-back range is not the next one taken")
	}
}
