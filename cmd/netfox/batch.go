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
	"golang.org/x/sync/errgroup"

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
	var events *emitter
	if c.Bool("json") {
		events = newEmitter(os.Stdout)
	}
	quiet := c.Bool("quiet") || c.Bool("json")

	results := make([]error, len(jobs))
	complete := make([]bool, len(jobs))
	paths := make([]string, len(jobs))
	sizes := make([]int64, len(jobs))
	// The per-file lines go above the view on a terminal (one line per
	// file being downloaded), straight to stderr otherwise.
	var view *ui.UI
	if !quiet {
		view = ui.StartBatch(viewOptions(c))
	}
	var g errgroup.Group
	g.SetLimit(c.Int("jobs"))
	for i, j := range jobs {
		g.Go(func() error {
			req := base
			req.URL, req.Output = j.url, j.output
			tag := fmt.Sprintf("[%d/%d]", i+1, len(jobs))
			var finish func(netfox.Result, error)
			if events != nil {
				finish = events.watch(&req)
			} else if view != nil {
				req.Progress = new(netfox.Progress)
				item := view.Add(tag, req.Progress)
				defer item.Remove()
				req.OnRetry = func(offset int64, cause error, wait time.Duration) {
					item.Retry(offset, errors.New(message(cause)), wait)
				}
				req.Notify = func(msg string) { view.Notify(tag + " " + printable(msg)) }
			}
			res, err := netfox.Download(c.Context, req)
			if finish != nil {
				finish(res, err)
			}
			results[i], paths[i], sizes[i], complete[i] = err, res.Path, res.Size, res.AlreadyComplete
			if view != nil {
				switch {
				case err != nil:
					view.Notify(fmt.Sprintf("%s %s: %s", tag, printable(j.url), message(err)))
				case res.AlreadyComplete:
					view.Notify(tag + " " + alreadyComplete(res))
				default:
					view.Notify(fmt.Sprintf("%s saved %s (%s)", tag, printable(res.Path), units.FormatSize(res.Size)))
				}
			}
			return nil
		})
	}
	g.Wait()
	if view != nil {
		view.Stop()
	}

	worst, failed, interrupted := 0, 0, 0
	for _, err := range results {
		switch {
		case err == nil:
		case errors.Is(err, context.Canceled):
			interrupted++
		default:
			failed++
			worst = max(worst, exitCode(err))
		}
	}
	if !c.Bool("quiet") {
		printBatchSummary(os.Stderr, jobs, results, complete, paths, sizes, failed, interrupted)
	}
	if c.Context.Err() != nil {
		return c.Context.Err()
	}
	if failed > 0 {
		return exitError{code: worst, msg: fmt.Sprintf("%d of %d files failed", failed, len(jobs))}
	}
	return nil
}

// printBatchSummary lists every file of a batch, one line each: saved,
// failed (with its exit code) or interrupted (resumable by running the
// same command again).
func printBatchSummary(w io.Writer, jobs []job, results []error, complete []bool, paths []string, sizes []int64, failed, interrupted int) {
	already := 0
	for i := range jobs {
		if results[i] == nil && complete[i] {
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
	for i, j := range jobs {
		err := results[i]
		switch {
		case err == nil && complete[i]:
			fmt.Fprintf(w, "  complete     %s (%s, already here)\n", printable(paths[i]), units.FormatSize(sizes[i]))
		case err == nil:
			fmt.Fprintf(w, "  saved        %s (%s)\n", printable(paths[i]), units.FormatSize(sizes[i]))
		case errors.Is(err, context.Canceled):
			fmt.Fprintf(w, "  interrupted  %s\n", printable(j.url))
		default:
			fmt.Fprintf(w, "  failed       %s (exit %d): %s\n", printable(j.url), exitCode(err), message(err))
		}
	}
	if interrupted > 0 {
		fmt.Fprintln(w, "netfox: run the same command again to resume the interrupted files")
	}
}
