package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/units"
)

// job is one line of a -i list.
type job struct {
	url, output string
}

// readList parses a -i list: "URL [OUTPUT]" a line, blank lines and lines
// starting with # ignored.
func readList(r io.Reader) ([]job, error) {
	var jobs []job
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) > 2 {
			return nil, fmt.Errorf("line %d: want URL [OUTPUT], got %d fields", n, len(fields))
		}
		j := job{url: fields[0]}
		if len(fields) == 2 {
			j.output = fields[1]
		}
		jobs = append(jobs, j)
	}
	return jobs, sc.Err()
}

// exitError carries the exit code of a batch: the worst of its files.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// runBatch downloads every file of the -i list, -j at a time. One failed
// file does not stop the others; the exit code is the worst one.
func runBatch(c *cli.Context) error {
	in := io.Reader(os.Stdin)
	if name := c.String("input-file"); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return usageError{fmt.Errorf("-i: %w", err)}
		}
		defer f.Close()
		in = f
	}
	jobs, err := readList(in)
	if err != nil {
		return usageError{fmt.Errorf("-i %s: %w", c.String("input-file"), err)}
	}
	if len(jobs) == 0 {
		return usageError{fmt.Errorf("-i %s lists no URL", c.String("input-file"))}
	}
	if c.Int("jobs") < 1 {
		return usageError{fmt.Errorf("--jobs must be at least 1, not %d", c.Int("jobs"))}
	}
	base, err := requestFromFlags(c)
	if err != nil {
		return err
	}
	perHost := c.Int("max-connections-per-host")
	if perHost < 1 {
		return usageError{fmt.Errorf("--max-connections-per-host must be at least 1, not %d", perHost)}
	}
	// One client for the whole list: its connections are reused from one
	// file to the next, the budget per host and --limit-rate hold for all
	// the files together.
	client := netfox.NewClient(netfox.ClientOptions{
		Transport:             base.Transport,
		MaxConnectionsPerHost: perHost,
		LimitRate:             base.LimitRate,
	})
	defer client.Close()
	base.Transport, base.LimitRate = netfox.TransportOptions{}, 0

	var events *emitter
	if c.Bool("json") {
		events = newEmitter(os.Stdout)
	}
	quiet := c.Bool("quiet") || c.Bool("json")

	reqs := make([]netfox.Request, len(jobs))
	for i, j := range jobs {
		reqs[i] = base
		reqs[i].URL, reqs[i].Output = j.url, j.output
	}
	finishes := make([]func(netfox.Result, error), len(jobs))
	var mu sync.Mutex // serialises the per-file lines
	tag := func(i int) string { return fmt.Sprintf("[%d/%d]", i+1, len(jobs)) }
	outcomes := client.DownloadAll(c.Context, reqs, netfox.BatchOptions{
		Parallel: c.Int("jobs"),
		OnStart: func(i int, req *netfox.Request) {
			if events != nil {
				finishes[i] = events.watch(req)
			} else if !quiet {
				req.Notify = func(msg string) {
					mu.Lock()
					fmt.Fprintf(os.Stderr, "netfox: %s %s\n", tag(i), printable(msg))
					mu.Unlock()
				}
			}
		},
		OnDone: func(i int, res netfox.Result, err error) {
			if finishes[i] != nil {
				finishes[i](res, err)
			}
			if quiet {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fmt.Fprintf(os.Stderr, "netfox: %s %s: %s\n", tag(i), printable(jobs[i].url), message(err))
			} else {
				fmt.Fprintf(os.Stderr, "netfox: %s saved %s (%s)\n", tag(i), printable(res.Path), units.FormatSize(res.Size))
			}
		},
	})
	worst, failed := 0, 0
	for _, o := range outcomes {
		if o.Err != nil {
			failed++
			worst = max(worst, exitCode(o.Err))
		}
	}
	printBatchSummary(os.Stderr, jobs, outcomes, failed, c.Bool("quiet"))
	if c.Context.Err() != nil {
		return c.Context.Err()
	}
	if failed > 0 {
		return exitError{code: worst, msg: fmt.Sprintf("%d of %d files failed", failed, len(jobs))}
	}
	return nil
}

// quietFailures is how many failed files a -q summary names.
const quietFailures = 10

// printBatchSummary ends a batch: a count, then a line per file; with -q
// (quiet) only the failed files are named, the first quietFailures of
// them, and nothing is printed when every file was saved.
func printBatchSummary(w io.Writer, jobs []job, outcomes []netfox.BatchResult, failed int, quiet bool) {
	if quiet && failed == 0 {
		return
	}
	fmt.Fprintf(w, "netfox: %d files: %d saved, %d failed\n", len(jobs), len(jobs)-failed, failed)
	named := 0
	for i, o := range outcomes {
		switch {
		case o.Err == nil && !quiet:
			fmt.Fprintf(w, "  saved   %s (%s)\n", printable(o.Result.Path), units.FormatSize(o.Result.Size))
		case o.Err != nil && (!quiet || named < quietFailures):
			named++
			fmt.Fprintf(w, "  failed  %s (exit %d): %s\n", printable(jobs[i].url), exitCode(o.Err), message(o.Err))
		}
	}
	if named < failed {
		fmt.Fprintf(w, "  and %d more failed\n", failed-named)
	}
}
