// Package bench measures download throughput against the number of
// connections, so that a user can pick N for a server by measurement: each
// count is run several times, and the recommendation is the smallest count
// whose median comes within 5% of the best.
package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/byterange"
	"github.com/netfox/netfox/segment"
	"github.com/netfox/netfox/siteinfo"
)

// Options configures a measurement.
type Options struct {
	// URL is the file to download.
	URL string
	// Connections are the counts to compare; empty means 1,2,4,8,16,32.
	Connections []int
	// Repeat is how often each count is run; zero means 3.
	Repeat int
	// Bytes limits each run to the first Bytes of the file; zero means
	// the whole file.
	Bytes int64
	// Discard throws the data away instead of writing it to a temporary
	// file, to measure the network alone.
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
// times each, and reports the throughput.
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
	maxConns := slices.Max(opts.Connections)
	client := &siteinfo.Client{HTTP: netfox.NewHTTPClient(maxConns, netfox.TransportOptions{}), Header: opts.Header}
	info, err := client.Probe(ctx, opts.URL)
	if err != nil {
		return Report{}, err
	}
	size := info.Length
	if size < 0 || !info.Ranges {
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
			// A fresh client per run: no connection kept alive from the
			// last run gives this one a head start.
			runClient := &siteinfo.Client{HTTP: netfox.NewHTTPClient(n, netfox.TransportOptions{}), Header: opts.Header}
			secs, err := timeRun(ctx, &siteinfo.Remote{Client: runClient, Info: info}, size, n, opts)
			if err != nil {
				return rep, err
			}
			run := Run{Connections: n, Repeat: r, Bytes: size, Seconds: secs, MiBPerS: float64(size) / (1 << 20) / secs}
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

// timeRun downloads [0, size) over conns connections and returns the
// seconds it took.
func timeRun(ctx context.Context, opener segment.Opener, size int64, conns int, opts Options) (secs float64, err error) {
	var out io.WriterAt = discard{}
	if !opts.Discard {
		f, err := os.CreateTemp(opts.Dir, "netfox-bench-*")
		if err != nil {
			return 0, err
		}
		defer func() {
			f.Close()
			if rmErr := os.Remove(f.Name()); err == nil {
				err = rmErr
			}
		}()
		out = f
	}
	table := &segment.Table{}
	for _, r := range byterange.Split(size, conns) {
		table.Add(r.Start, r.Start, r.Start, r.End)
	}
	var fetched atomic.Int64
	fetcher := &segment.Fetcher{Opener: opener, Output: out, Fetched: &fetched, StallSpeed: 1 << 10, StallWindow: 10 * time.Second}
	began := time.Now()
	if err := segment.Run(ctx, table, fetcher, conns); err != nil {
		return 0, err
	}
	return time.Since(began).Seconds(), nil
}

// discard is a WriterAt that keeps nothing.
type discard struct{}

func (discard) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }

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
