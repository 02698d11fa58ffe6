// Package bench measures download throughput against the number of
// connections, so that a user can pick N for a server by measurement: each
// count is run several times, and the recommendation is the smallest count
// whose median comes within 5% of the best.
package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"time"

	"github.com/netfox/netfox"
)

// Options configures a measurement.
type Options struct {
	// URL is the file to download.
	URL string
	// Connections are the counts to compare; empty means 1,2,4,8,16,32.
	Connections []int
	// Repeat is how often each count is run; zero means 3.
	Repeat int
	// Bytes ends each run once Bytes have arrived (a sample of the file
	// over every connection); zero means the whole file.
	Bytes int64
	// Discard throws the data away (a netfox.Stream into nothing)
	// instead of downloading into a temporary file, to measure the
	// network alone.
	Discard bool
	// Dir holds the temporary files; empty means os.TempDir(). Each is
	// removed when its run ends, whatever happens.
	Dir string
	// Header is sent with every request.
	Header http.Header
	// OnStart, when set, is called before each run with its connection
	// count and repeat number (from 1).
	OnStart func(connections, repeat int)
	// OnRun, when set, is called after each run.
	OnRun func(Run)
}

// Run is one timed download.
type Run struct {
	Connections int     `json:"connections"`
	Repeat      int     `json:"repeat"`
	Bytes       int64   `json:"bytes"`
	Seconds     float64 `json:"seconds"`
	MiBPerS     float64 `json:"mib_per_s"`
}

// Summary is the statistics of one connection count.
type Summary struct {
	Connections int     `json:"connections"`
	Median      float64 `json:"median_mib_per_s"`
	Min         float64 `json:"min_mib_per_s"`
	Max         float64 `json:"max_mib_per_s"`
	// Speedup is Median over the median of the smallest count measured.
	Speedup float64 `json:"speedup"`
}

// Report is the result of a measurement.
type Report struct {
	URL         string    `json:"url"`
	Bytes       int64     `json:"bytes"`
	Runs        []Run     `json:"runs"`
	Summaries   []Summary `json:"summaries"`
	Recommended int       `json:"recommended"`
}

// DefaultConnections returns the counts compared when Options does not say.
func DefaultConnections() []int { return []int{1, 2, 4, 8, 16, 32} }

// Measure downloads opts.URL with every connection count, opts.Repeat
// times each, and reports the throughput. Each run is a netfox.Download
// into a fresh temporary directory (checkpoints, preallocation and fsync
// included: the pipeline users run), or with Discard a netfox.Stream into
// nothing, over a Client of its own so that no connection kept alive from
// the last run gives it a head start.
func Measure(ctx context.Context, opts Options) (Report, error) {
	if len(opts.Connections) == 0 {
		opts.Connections = DefaultConnections()
	}
	if opts.Repeat <= 0 {
		opts.Repeat = 3
	}
	for _, n := range opts.Connections {
		if n < 1 || n > netfox.MaxConnections {
			return Report{}, fmt.Errorf("%w: connection counts must be between 1 and %d, not %d", netfox.ErrUsage, netfox.MaxConnections, n)
		}
	}
	client := netfox.NewClient(netfox.ClientOptions{})
	fi, err := client.Stat(ctx, netfox.Request{URL: opts.URL, Header: opts.Header})
	client.Close()
	if err != nil {
		return Report{}, err
	}
	size := fi.Length
	if size < 0 || !fi.Ranges {
		return Report{}, fmt.Errorf("%w: %s cannot be benchmarked: the server does not serve byte ranges of it or give its length", netfox.ErrRangeNotSupported, opts.URL)
	}
	if opts.Bytes > 0 && opts.Bytes < size {
		size = opts.Bytes
	}
	rep := Report{URL: opts.URL, Bytes: size}
	for _, n := range opts.Connections {
		for r := 1; r <= opts.Repeat; r++ {
			if opts.OnStart != nil {
				opts.OnStart(n, r)
			}
			got, secs, err := timeRun(ctx, fi.Length, size, n, opts)
			if err != nil {
				return rep, err
			}
			run := Run{Connections: n, Repeat: r, Bytes: got, Seconds: secs, MiBPerS: float64(got) / (1 << 20) / secs}
			rep.Runs = append(rep.Runs, run)
			if opts.OnRun != nil {
				opts.OnRun(run)
			}
		}
	}
	rep.Summaries = Summarise(rep.Runs)
	rep.Recommended = Recommend(rep.Summaries)
	return rep, nil
}

// progressEvery is how often a run limited to its first bytes looks at
// how many have arrived.
const progressEvery = 10 * time.Millisecond

// timeRun downloads the file of length over conns connections, until
// target bytes have arrived (the whole file when target is length), and
// returns the bytes that had arrived and the seconds it took.
func timeRun(ctx context.Context, length, target int64, conns int, opts Options) (got int64, secs float64, err error) {
	dir, err := os.MkdirTemp(opts.Dir, "netfox-bench-*")
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if rmErr := os.RemoveAll(dir); err == nil {
			err = rmErr
		}
	}()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	req := netfox.Request{
		URL:         opts.URL,
		Output:      filepath.Join(dir, "file"),
		Connections: conns,
		Header:      opts.Header,
		// One connection per count asked for, as long as each gets a
		// range: the count is what is measured.
		MinSplit: max(1, min(netfox.DefaultMinSplit, length/int64(conns))),
	}
	var reached atomic.Int64 // bytes at the first look that saw target
	var took atomic.Int64    // and when, in nanoseconds since began
	began := time.Now()
	sample := func(n int64) {
		if target < length && n >= target && reached.CompareAndSwap(0, n) {
			took.Store(int64(time.Since(began)))
			stop()
		}
	}
	if opts.Discard {
		_, err = netfox.Stream(runCtx, req, &countingDiscard{seen: sample}, 0)
	} else {
		req.ProgressInterval = progressEvery
		req.OnProgress = func(s netfox.Snapshot) { sample(s.Fetched) }
		_, err = netfox.Download(runCtx, req)
	}
	if n := reached.Load(); n > 0 && ctx.Err() == nil {
		return n, time.Duration(took.Load()).Seconds(), nil // stopped at target
	}
	if err != nil {
		return 0, 0, err
	}
	return length, time.Since(began).Seconds(), nil
}

// countingDiscard keeps nothing, and tells seen how many bytes it has
// been given.
type countingDiscard struct {
	n    int64
	seen func(int64)
}

func (w *countingDiscard) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	w.seen(w.n)
	return len(p), nil
}

// Summarise groups runs by connection count, in the order counts first
// appear.
func Summarise(runs []Run) []Summary {
	var order []int
	byCount := map[int][]float64{}
	for _, r := range runs {
		if _, ok := byCount[r.Connections]; !ok {
			order = append(order, r.Connections)
		}
		byCount[r.Connections] = append(byCount[r.Connections], r.MiBPerS)
	}
	sums := make([]Summary, 0, len(order))
	for _, n := range order {
		v := byCount[n]
		sort.Float64s(v)
		sums = append(sums, Summary{Connections: n, Median: median(v), Min: v[0], Max: v[len(v)-1]})
	}
	if len(sums) > 0 {
		base := sums[0].Median
		for i := range sums {
			if base > 0 {
				sums[i].Speedup = sums[i].Median / base
			}
		}
	}
	return sums
}

// median of sorted values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Recommend returns the smallest connection count whose median is within
// 5% of the best median: more connections than that cost the server
// without helping the user. It returns 0 for no summaries.
func Recommend(sums []Summary) int {
	best := 0.0
	for _, s := range sums {
		best = max(best, s.Median)
	}
	rec := 0
	for _, s := range sums {
		if s.Median >= 0.95*best && (rec == 0 || s.Connections < rec) {
			rec = s.Connections
		}
	}
	return rec
}
