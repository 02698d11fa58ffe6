package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/bench"
	"github.com/netfox/netfox/internal/units"
)

// The embedded server of `netfox bench` without a URL: a file small enough
// for a sweep within a minute, behind caps like a mirror's, so that more
// connections pay up to the link's capacity and no further.
const (
	localSize        = 8 << 20
	localRatePerConn = 2 << 20
	localRateTotal   = 16 << 20
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:      "bench",
		Usage:     "measure throughput against the number of connections, and recommend one",
		ArgsUsage: "[URL]",
		Description: `Downloads URL (or until --bytes have arrived) with each connection count, --repeat times,
and prints median, min and max throughput and the speedup over the first count.
The recommendation is the fewest connections within 5% of the best median;
for a URL it is also where the next "get -n auto" from that host starts.
Without a URL it benchmarks an embedded server on loopback (8 MiB file,
2 MiB/s per connection, 16 MiB/s in all), so the effect shows at once.

Examples:
   netfox bench
   netfox bench --connections 1,4,16 --bytes 64MiB https://example.com/big.iso
   netfox bench --json --plot speed.svg https://example.com/big.iso`,
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "connections", Value: "1,2,4,8,16,32", Usage: "connection counts to compare, comma-separated"},
			&cli.IntFlag{Name: "repeat", Value: 3, Usage: "runs per count"},
			&cli.StringFlag{Name: "bytes", Usage: "stop each run once `SIZE` bytes have arrived (e.g. 64MiB)"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON document instead of the table"},
			&cli.StringFlag{Name: "plot", Usage: "write a chart of throughput against connections to `FILE` (.svg, .png, .pdf)"},
			&cli.BoolFlag{Name: "discard", Usage: "throw the data away (as -o - does) instead of downloading into a temporary file"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar"},
			&cli.StringSliceFlag{Name: "header", Aliases: []string{"H"}, Usage: "extra request header, 'Name: value' (repeatable)"},
		},
		Action: runBench,
	}
}

func runBench(c *cli.Context) error {
	if c.NArg() > 1 {
		return usageError{fmt.Errorf("bench takes at most one URL, got %d", c.NArg())}
	}
	counts, err := parseCounts(c.String("connections"))
	if err != nil {
		return usageError{err}
	}
	if c.Int("repeat") < 1 {
		return usageError{fmt.Errorf("--repeat must be at least 1, not %d", c.Int("repeat"))}
	}
	var limit int64
	if s := c.String("bytes"); s != "" {
		if limit, err = units.ParseSize(s); err != nil || limit < 1 {
			return usageError{fmt.Errorf("--bytes: invalid size %q", s)}
		}
	}
	header, err := parseHeaders(c.StringSlice("header"))
	if err != nil {
		return err
	}
	if header.Get("User-Agent") == "" {
		header.Set("User-Agent", userAgent())
	}

	url := c.Args().First()
	remember := url != "" // not the embedded server's address
	if url == "" {
		local, err := bench.StartLocal(bench.LocalOptions{Size: localSize, RatePerConn: localRatePerConn, RateTotal: localRateTotal})
		if err != nil {
			return err
		}
		defer local.Close()
		url = local.URL
		fmt.Fprintf(os.Stderr, "netfox: no URL given: benchmarking an embedded server on loopback (%s file, %s/s per connection, %s/s in all)\n",
			units.FormatSize(localSize), units.FormatSize(localRatePerConn), units.FormatSize(localRateTotal))
	}

	if path := c.String("plot"); path != "" {
		if err := bench.CheckPlotPath(path); err != nil {
			return usageError{fmt.Errorf("--plot: %w", err)}
		}
	}
	opts := bench.Options{URL: url, Connections: counts, Repeat: c.Int("repeat"), Bytes: limit, Discard: c.Bool("discard"), Header: header}
	stopBar := func() {}
	if !c.Bool("quiet") && isTerminal(os.Stderr) {
		p := mpb.New(mpb.WithOutput(os.Stderr), mpb.WithWidth(60))
		var running atomic.Value // what the bar says is running; read by mpb's goroutine
		running.Store("")
		bar := p.AddBar(int64(len(counts)*opts.Repeat),
			mpb.PrependDecorators(decor.Name("bench "), decor.CountersNoUnit("%d / %d runs")),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return running.Load().(string) })),
		)
		opts.OnStart = func(n, r int) { running.Store(fmt.Sprintf("  running -n %d (%d of %d)", n, r, opts.Repeat)) }
		opts.OnRun = func(bench.Run) { bar.Increment() }
		// The bar ends, and mpb has drawn its last frame, before anything
		// else is printed: the table must not be drawn over.
		stopBar = func() {
			running.Store("")
			bar.Abort(false) // no-op once complete; ends the bar on an error
			p.Wait()
		}
	}
	rep, err := bench.Measure(c.Context, opts)
	stopBar()
	if err != nil {
		return err
	}
	if remember && rep.Recommended > 0 {
		// The next `get -n auto` from this host starts there.
		if err := netfox.RememberConnections(os.Getenv(cacheDirEnv), url, rep.Recommended, "bench"); err != nil {
			fmt.Fprintf(os.Stderr, "netfox: cannot remember the recommendation for -n auto: %v\n", err)
		}
	}
	if path := c.String("plot"); path != "" {
		if err := bench.Plot(rep, path); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
	}
	if c.Bool("json") {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printTable(rep)
	return nil
}

func printTable(rep bench.Report) {
	fmt.Printf("%s, %s per run\n\n", rep.URL, units.FormatSize(rep.Bytes))
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "connections\tmedian MiB/s\tmin\tmax\tspeedup\t")
	for _, s := range rep.Summaries {
		fmt.Fprintf(w, "%d\t%.2f\t%.2f\t%.2f\t%.2fx\t\n", s.Connections, s.Median, s.Min, s.Max, s.Speedup)
	}
	w.Flush()
	fmt.Printf("\nrecommended: -n %d (the fewest connections within 5%% of the best median)\n", rep.Recommended)
}

// parseCounts reads "1,2,4,8" into distinct positive counts, in order.
func parseCounts(s string) ([]int, error) {
	var counts []int
	seen := map[int]bool{}
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 256 {
			return nil, fmt.Errorf("--connections: %q is not a count between 1 and 256", strings.TrimSpace(f))
		}
		if !seen[n] {
			seen[n] = true
			counts = append(counts, n)
		}
	}
	return counts, nil
}

// parseHeaders reads -H 'Name: value' flags.
func parseHeaders(values []string) (http.Header, error) {
	header := http.Header{}
	for _, h := range values {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, usageError{fmt.Errorf("bad header %q (want 'Name: value')", h)}
		}
		header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return header, nil
}
