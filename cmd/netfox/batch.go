package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/ui"
	"github.com/netfox/netfox/internal/units"
)

// job is one line of a -i list.
type job struct {
	line        int // its number in the list, from 1
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
		j := job{line: n, url: withScheme(fields[0])}
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
	dir := c.String("dir")
	reqs := make([]netfox.Request, len(jobs))
	for i, j := range jobs {
		reqs[i] = base
		reqs[i].URL = j.url
		if reqs[i].Output, reqs[i].Dir, err = placeOutput(dir, j.output, fmt.Sprintf("line %d: OUTPUT", j.line)); err != nil {
			return err
		}
		if reqs[i].Output == "-" {
			return usageError{fmt.Errorf("line %d: OUTPUT - (stdout) is for a single download, not a list", j.line)}
		}
	}
	if err := duplicateOutputs(jobs, reqs); err != nil {
		return err
	}
	for _, req := range reqs {
		if err := makeDir(dir, req); err != nil {
			return err
		}
	}
	// The per-file lines go above the view on a terminal (one line per
	// file being downloaded), straight to stderr otherwise.
	var view *ui.UI
	if !quiet {
		view = ui.StartBatch(viewOptions(c), len(jobs))
	}
	b := &batch{jobs: jobs, reqs: reqs, progress: make([]*live, len(jobs)), paths: make([]string, len(jobs)), ended: make([]bool, len(jobs))}
	finishes := make([]func(netfox.Result, error), len(jobs))
	items := make([]*ui.Item, len(jobs))
	tag := func(i int) string { return fmt.Sprintf("[%d/%d]", i+1, len(jobs)) }
	outcomes := client.DownloadAll(c.Context, reqs, netfox.BatchOptions{
		Parallel: c.Int("jobs"),
		OnStart: func(i int, req *netfox.Request) {
			var progress *live
			if events != nil {
				finishes[i], progress = events.watch(req)
			} else if view != nil {
				progress = watchLive(req)
				item := view.Add(tag(i), filepath.Base(b.path(i, netfox.Result{})), progress)
				items[i] = item
				req.OnEvent = showEvent(func(line string) { view.Notify(tag(i) + " " + line) }, item.Retry)
			}
			// Quiet, there is no live state (DownloadAll keeps each
			// request to the end): a file found busy is recognised as
			// another line's once that one ends (final).
			b.started(i, progress)
		},
		OnDone: func(i int, res netfox.Result, err error) {
			err, pending := b.done(i, res, err)
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
			case errors.Is(err, context.Canceled), pending:
			case err != nil:
				view.Notify(fmt.Sprintf("%s %s: %s", tag(i), printable(b.path(i, res)), message(err)))
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
	for i := range outcomes {
		outcomes[i].Err = b.final(i, outcomes[i])
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
	printBatchSummary(os.Stderr, b, outcomes, failed, interrupted, c.Bool("quiet"))
	if c.Context.Err() != nil {
		return c.Context.Err()
	}
	if failed > 0 {
		return exitError{code: worst, msg: fmt.Sprintf("%d of %s failed", failed, units.Count(len(jobs), "file"))}
	}
	return nil
}

// batch follows the files of a -i list as they run: the progress of each
// (its file, once the server named it) and the files of those done, so
// that a file found busy or already there can be recognised as another
// line's.
type batch struct {
	jobs []job
	reqs []netfox.Request

	mu sync.Mutex
	// progress is a running file's, nil before and after: a batch of
	// thousands keeps no more than -j of them.
	progress []*live
	paths    []string // the files of those done ("" for none)
	ended    []bool
}

func (b *batch) started(i int, p *live) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.progress[i] = p
}

// done records the outcome of file i, and returns its error, replaced
// when the file it found busy or already there is another line's. As far
// as known yet: a line still probing has no file. Then pending is set,
// and the error waits for final, at the end, rather than be shown with
// advice that may not be this line's.
func (b *batch) done(i int, res netfox.Result, err error) (_ error, pending bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.progress[i], b.paths[i], b.ended[i] = nil, res.Path, true
	err = b.collideLocked(i, res.Path, err)
	return err, clashKind(err) && b.unknownLocked(i)
}

// unknownLocked reports whether a line other than i has not ended and
// does not know its file yet.
func (b *batch) unknownLocked(i int) bool {
	for j := range b.jobs {
		if j != i && !b.ended[j] && (b.progress[j] == nil || b.progress[j].Snapshot().Path == "") {
			return true
		}
	}
	return false
}

// final is done's verdict once every file has ended, for the summary
// and the exit code.
func (b *batch) final(i int, o netfox.BatchResult) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.collideLocked(i, o.Result.Path, o.Err)
}

func (b *batch) collideLocked(i int, path string, err error) error {
	if err == nil || path == "" {
		return err
	}
	key := samePath(path)
	for j := range b.jobs {
		var other string
		switch {
		case j == i:
		case b.ended[j]:
			other = b.paths[j]
		case b.progress[j] != nil:
			other = b.progress[j].Snapshot().Path
		}
		if other != "" && samePath(other) == key {
			return sameOutput(err, b.jobs[i].line, b.jobs[j].line, path)
		}
	}
	return err
}

// path is the file of line i: the one it wrote, else the one it was to
// write as far as the list tells, else its URL.
func (b *batch) path(i int, res netfox.Result) string {
	if res.Path != "" {
		return res.Path
	}
	if p := plannedPath(b.reqs[i]); p != "" {
		return p
	}
	return b.jobs[i].url
}

// quietFailures is how many failed files a -q summary names.
const quietFailures = 10

// printBatchSummary ends a batch: a count, then a line per file, named
// by its output: saved, complete (already there), failed (with its exit
// code), interrupted (begun, and resumable by running the same command
// again) or not started. With -q (quiet) only the failed files are
// named, the first quietFailures of them, and nothing is printed when
// none failed.
func printBatchSummary(w io.Writer, b *batch, outcomes []netfox.BatchResult, failed, interrupted int, quiet bool) {
	if quiet && failed == 0 {
		return
	}
	already, notStarted := 0, 0
	for _, o := range outcomes {
		switch {
		case o.Err == nil && o.Result.AlreadyComplete:
			already++
		case errors.Is(o.Err, context.Canceled) && o.Result.Path == "":
			notStarted++
		}
	}
	interrupted -= notStarted
	saved := len(outcomes) - failed - interrupted - notStarted - already
	head := fmt.Sprintf("netfox: %s: %d saved, %d failed", units.Count(len(outcomes), "file"), saved, failed)
	if already > 0 {
		head += fmt.Sprintf(", %d already complete", already)
	}
	if interrupted > 0 {
		head += fmt.Sprintf(", %d interrupted", interrupted)
	}
	if notStarted > 0 {
		head += fmt.Sprintf(", %d not started", notStarted)
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
		case errors.Is(o.Err, context.Canceled) && o.Result.Path == "":
			if !quiet {
				fmt.Fprintf(w, "  not started  %s\n", printable(b.path(i, o.Result)))
			}
		case errors.Is(o.Err, context.Canceled):
			if !quiet {
				fmt.Fprintf(w, "  interrupted  %s\n", printable(o.Result.Path))
			}
		case !quiet || named < quietFailures:
			named++
			fmt.Fprintf(w, "  failed       %s (exit %d): %s\n", printable(b.path(i, o.Result)), exitCode(o.Err), message(o.Err))
		}
	}
	if named < failed {
		fmt.Fprintf(w, "  and %d more failed\n", failed-named)
	}
	if (interrupted > 0 || notStarted > 0) && !quiet {
		fmt.Fprintln(w, "netfox: run the same command again to resume the interrupted files and start the others")
	}
}
