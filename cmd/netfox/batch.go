package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/ui"
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
		j := job{url: withScheme(fields[0])}
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

	if name := c.String("input-file"); name != "-" {
		// The list is never an output: not by a server's name with
		// --overwrite, not by a line's OUTPUT.
		base.Protected = append(base.Protected, name)
	}
	reqs := make([]netfox.Request, len(jobs))
	for i, j := range jobs {
		reqs[i] = base
		reqs[i].URL, reqs[i].Output = j.url, j.output
	}
	// The per-file lines go above the view on a terminal (one line per
	// file being downloaded), straight to stderr otherwise.
	var view *ui.UI
	if !quiet {
		view = ui.StartBatch(viewOptions(c))
	}
	finishes := make([]func(netfox.Result, error), len(jobs))
	items := make([]*ui.Item, len(jobs))
	tag := func(i int) string { return fmt.Sprintf("[%d/%d]", i+1, len(jobs)) }
	outcomes := client.DownloadAll(c.Context, reqs, netfox.BatchOptions{
		Parallel: c.Int("jobs"),
		OnStart: func(i int, req *netfox.Request) {
			if events != nil {
				finishes[i] = events.watch(req)
			} else if view != nil {
				req.Progress = new(netfox.Progress)
				item := view.Add(tag(i), req.Progress)
				items[i] = item
				req.OnRetry = func(offset int64, cause error, wait time.Duration) {
					item.Retry(offset, errors.New(message(cause)), wait)
				}
				req.Notify = func(msg string) { view.Notify(tag(i) + " " + printable(msg)) }
			}
		},
		OnDone: func(i int, res netfox.Result, err error) {
			if finishes[i] != nil {
				finishes[i](res, err)
			}
			if items[i] != nil {
				items[i].Remove()
			}
			if view == nil {
				return
			}
			switch {
			case err != nil:
				view.Notify(fmt.Sprintf("%s %s: %s", tag(i), printable(jobs[i].url), message(err)))
			case res.AlreadyComplete:
				view.Notify(tag(i) + " " + alreadyComplete(res))
			default:
				view.Notify(fmt.Sprintf("%s saved %s (%s)", tag(i), printable(res.Path), units.FormatSize(res.Size)))
			}
		},
	})
	if view != nil {
		view.Stop()
	}

	worst, failed, interrupted := 0, 0, 0
	for _, o := range outcomes {
		switch {
		case o.Err == nil:
		case errors.Is(o.Err, context.Canceled):
			interrupted++
		default:
			failed++
			worst = max(worst, exitCode(o.Err))
		}
	}
	printBatchSummary(os.Stderr, jobs, outcomes, failed, interrupted, c.Bool("quiet"))
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

// printBatchSummary ends a batch: a count, then a line per file: saved,
// complete (already there), failed (with its exit code) or interrupted
// (resumable by running the same command again). With -q (quiet) only
// the failed files are named, the first quietFailures of them, and
// nothing is printed when none failed.
func printBatchSummary(w io.Writer, jobs []job, outcomes []netfox.BatchResult, failed, interrupted int, quiet bool) {
	if quiet && failed == 0 {
		return
	}
	already := 0
	for _, o := range outcomes {
		if o.Err == nil && o.Result.AlreadyComplete {
			already++
		}
	}
	saved := len(jobs) - failed - interrupted - already
	head := fmt.Sprintf("netfox: %d files: %d saved, %d failed", len(jobs), saved, failed)
	if already > 0 {
		head += fmt.Sprintf(", %d already complete", already)
	}
	if interrupted > 0 {
		head += fmt.Sprintf(", %d interrupted", interrupted)
	}
	fmt.Fprintln(w, head)
	named := 0
	for i, o := range outcomes {
		switch {
		case o.Err == nil && quiet:
		case o.Err == nil && o.Result.AlreadyComplete:
			fmt.Fprintf(w, "  complete     %s (%s, already here)\n", printable(o.Result.Path), units.FormatSize(o.Result.Size))
		case o.Err == nil:
			fmt.Fprintf(w, "  saved        %s (%s)\n", printable(o.Result.Path), units.FormatSize(o.Result.Size))
		case errors.Is(o.Err, context.Canceled):
			if !quiet {
				fmt.Fprintf(w, "  interrupted  %s\n", printable(jobs[i].url))
			}
		case !quiet || named < quietFailures:
			named++
			fmt.Fprintf(w, "  failed       %s (exit %d): %s\n", printable(jobs[i].url), exitCode(o.Err), message(o.Err))
		}
	}
	if named < failed {
		fmt.Fprintf(w, "  and %d more failed\n", failed-named)
	}
	if interrupted > 0 && !quiet {
		fmt.Fprintln(w, "netfox: run the same command again to resume the interrupted files")
	}
}
