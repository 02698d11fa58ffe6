package bench

import (
	"context"
	"os"
	"testing"
)

func TestRecommend(t *testing.T) {
	tests := []struct {
		name string
		sums []Summary
		want int
	}{
		{"none", nil, 0},
		{"one", []Summary{{Connections: 4, Median: 10}}, 4},
		{"plateau: fewest within 5%", []Summary{{1, 2, 0, 0, 0}, {4, 8, 0, 0, 0}, {8, 15.9, 0, 0, 0}, {16, 16, 0, 0, 0}}, 8},
		{"just outside 5%", []Summary{{8, 9.49, 0, 0, 0}, {16, 10, 0, 0, 0}}, 16},
		{"exactly 5% below", []Summary{{8, 9.5, 0, 0, 0}, {16, 10, 0, 0, 0}}, 8},
		{"more is worse", []Summary{{1, 10, 0, 0, 0}, {2, 7, 0, 0, 0}}, 1},
		{"unordered counts", []Summary{{32, 10, 0, 0, 0}, {4, 10, 0, 0, 0}, {8, 10, 0, 0, 0}}, 4},
	}
	for _, tt := range tests {
		if got := Recommend(tt.sums); got != tt.want {
			t.Errorf("%s: Recommend = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestSummarise(t *testing.T) {
	runs := []Run{
		{Connections: 1, MiBPerS: 2}, {Connections: 1, MiBPerS: 1}, {Connections: 1, MiBPerS: 3},
		{Connections: 4, MiBPerS: 8}, {Connections: 4, MiBPerS: 6},
	}
	got := Summarise(runs)
	want := []Summary{{1, 2, 1, 3, 1}, {4, 7, 6, 8, 3.5}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("summary %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestMeasureScales runs the embedded server with a per-connection cap:
// four connections must be well over 2.5 times as fast as one.
func TestMeasureScales(t *testing.T) {
	// 4 s over one connection, 1 s over four: the gap leaves room for
	// the fixed costs (probe, connection setup) on a loaded machine.
	local, err := StartLocal(LocalOptions{Size: 1 << 20, RatePerConn: 256 << 10, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	var runs []Run
	dir := t.TempDir()
	rep, err := Measure(context.Background(), Options{URL: local.URL, Connections: []int{1, 4}, Repeat: 1, Dir: dir, OnRun: func(r Run) { runs = append(runs, r) }})
	if err != nil {
		t.Fatal(err)
	}
	if left, err := os.ReadDir(dir); err != nil || len(left) != 0 {
		t.Errorf("the runs left %v in their directory (%v)", left, err)
	}
	if len(rep.Runs) != 2 || len(runs) != 2 || len(rep.Summaries) != 2 {
		t.Fatalf("report %+v, OnRun saw %d runs", rep, len(runs))
	}
	if ratio := rep.Summaries[1].Median / rep.Summaries[0].Median; ratio < 2 {
		t.Errorf("4 connections %.2f MiB/s, 1 connection %.2f MiB/s: ratio %.2f, want > 2", rep.Summaries[1].Median, rep.Summaries[0].Median, ratio)
	}
	if rep.Recommended != 4 {
		t.Errorf("recommended %d, want 4", rep.Recommended)
	}
}

func TestMeasureBytesAndDiscard(t *testing.T) {
	local, err := StartLocal(LocalOptions{Size: 1 << 20, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	rep, err := Measure(context.Background(), Options{URL: local.URL, Connections: []int{2}, Repeat: 2, Bytes: 1000, Discard: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bytes != 1000 || len(rep.Runs) != 2 {
		t.Fatalf("report %+v, want 2 runs of 1000 bytes", rep)
	}
	for _, r := range rep.Runs {
		// A run stops at the first look after 1000 bytes have arrived.
		if r.Bytes < 1000 || r.Bytes > 1<<20 || r.Seconds <= 0 {
			t.Errorf("run %+v: want at least 1000 bytes, at most the file, in some time", r)
		}
	}
}
