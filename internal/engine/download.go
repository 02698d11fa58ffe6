package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/netfox/netfox/byterange"
	"github.com/netfox/netfox/fileaccess"
	"github.com/netfox/netfox/retry"
	"github.com/netfox/netfox/segment"
	"github.com/netfox/netfox/siteinfo"
	"github.com/netfox/netfox/state"
)

// maxFreshStarts bounds how often one run starts over because the remote
// file changed under it: a file that keeps changing cannot be downloaded.
const maxFreshStarts = 1

// Downloader runs one job: a download into its output, or a stream.
type Downloader struct {
	req     Job
	conns   int  // the count, or where AutoConnections starts
	auto    bool // AutoConnections
	autoMax int
	capped  bool // conns is where the server said it was overloaded, lately
	client  *siteinfo.Client
	bootID  string
	sources []*source // of the current ranged attempt
	// adopted reports that Continue took over the .part in this run,
	// after checking its end against the remote.
	adopted bool
	// limits are the caps every byte passes: the transfer's own and the
	// Client's shared one.
	limits []*segment.Limit
	// slots is the connection budget of the URL's host, shared with the
	// other downloads of the Client; primed is the first request's
	// answer while no segment has taken it.
	slots  *semaphore.Weighted
	primed *primed
	budget *Budget
	bufs   *sync.Pool // the Client's read buffers
}

// New prepares job's download with env. job has been normalised (see
// Job); with AutoConnections, the count starts where the host's
// remembered one is.
func New(env Env, job Job) *Downloader {
	auto := job.Connections == AutoConnections
	capped := false
	if auto {
		job.Connections, capped = autoStart(job.CacheDir, job.URL, job.AutoMax)
	}
	header := job.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if header.Get("User-Agent") == "" {
		header.Set("User-Agent", cmp.Or(job.UserAgent, env.UserAgent))
	}
	return &Downloader{
		req:     job,
		conns:   job.Connections,
		auto:    auto,
		autoMax: job.AutoMax,
		capped:  capped,
		client: &siteinfo.Client{
			HTTP: env.HTTP, Header: header, User: job.User, Password: job.Password, Credentials: job.Credentials,
			LocationTrusted: job.LocationTrusted, AllowInsecureRedirect: job.AllowInsecureRedirect,
		},
		bootID: state.BootID(),
		limits: env.Limits,
		slots:  env.Budget.Slots(job.URL),
		budget: env.Budget,
		bufs:   env.Buffers,
	}
}

// run is one download, step by step: ask the remote about the file
// (probe), take over a partial file (Continue) or stop at a complete one,
// open and lock the .part, plan and fetch its segments, verify what was
// written, and make it final.
func (d *Downloader) Run(ctx context.Context) (Result, error) {
	began := time.Now()
	var tcp connCounter
	ctx = tcp.trace(ctx)
	info, err := d.probeFirst(ctx)
	if err != nil {
		return Result{}, err
	}
	defer d.primed.close()
	if info.Length > fileaccess.MaxLength {
		return Result{}, tooLarge(info, fileaccess.ErrFileTooLarge)
	}
	p := d.outputPaths(info)
	var adopted adoption
	if d.req.Continue {
		if adopted, err = d.adopt(ctx, info, p); err != nil {
			return Result{}, err
		}
		if adopted.complete {
			// The probe and the check of the end were all there was to
			// fetch, from URL.
			res := Result{Path: p.out, Size: adopted.size, Resumed: adopted.size, Fetched: adopted.checked, Connections: max(tcp.count(), 1), Parallel: 1, ParallelReason: string(segment.ReasonFixed), Elapsed: time.Since(began)}
			res.Sources = []Source{{URL: d.req.URL, Fetched: adopted.checked}}
			return res, nil
		}
	}
	if complete, err := d.checkOutput(p.out, info); err != nil || complete {
		return Result{Path: p.out, Size: info.Length, AlreadyComplete: complete}, err
	}
	part, complete, err := d.openOutput(p, info)
	if err != nil || complete {
		return Result{Path: p.out, Size: info.Length, AlreadyComplete: complete}, err
	}
	defer part.Close() // for the early returns; finish closes it first

	c := newCounters(d.parallelFor(info))
	c.fetched.Store(adopted.checked)
	c.log = &parallelLog{reason: string(segment.ReasonFixed), began: began, connections: &c.parallel}
	info, resumed, err := d.fetch(ctx, part, info, p, c)
	res := Result{Path: p.out, Resumed: resumed, Connections: d.parallelFor(info), Parallel: d.parallelFor(info)}
	if err != nil {
		// What this run fetched and kept, for a caller that goes on
		// from it later.
		c.fill(&res)
		res.Elapsed = time.Since(began)
		return res, err
	}
	if res.Size, err = d.verify(part, p, info); err != nil {
		c.fill(&res)
		res.Elapsed = time.Since(began)
		return res, err
	}
	d.recordOrigin(part, info)
	if err := finish(part, p, d.req.Overwrite); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return res, fmt.Errorf("%w: %s appeared during the download and is left as it is; the download is complete in %s", ErrExists, p.out, p.part)
		}
		return res, ioError(err)
	}
	d.stampVersion(p.out, info)
	c.fill(&res)
	res.ParallelReason, res.ParallelSteps = c.log.result()
	if d.auto {
		d.rememberCounts(c.log, res)
	}
	if n := tcp.count(); n > 0 {
		res.Connections = n
	} else if !ranged(info) {
		res.Connections = 1 // one stream
	}
	res.Sources = d.sourceResults(res.Fetched, adopted.checked)
	c.log.sourceResults(res.Sources)
	res.Elapsed = time.Since(began)
	return res, nil
}

// ranged reports whether the file can be fetched in byte ranges: the
// server serves them and said how long it is.
func ranged(info siteinfo.Info) bool { return info.Ranges && info.Length >= 0 }

// parallelFor is the connections a download of info starts with: as many
// as its length has segments (see connectionsFor), one for a stream.
func (d *Downloader) parallelFor(info siteinfo.Info) int {
	if !ranged(info) {
		return d.conns
	}
	return d.connectionsFor(info.Length)
}

// fetch plans the segments of the .part (a resume, a fresh start, an
// adopted file) and fetches them, in ranges from every source or in one
// stream. It falls back to one stream when the server ignores ranges
// after all, and starts over once when the remote file changes under it.
// It returns the info the data belongs to and the bytes resumed.
func (d *Downloader) fetch(ctx context.Context, part *fileaccess.File, info siteinfo.Info, p paths, c *counters) (siteinfo.Info, int64, error) {
	fetcher := d.newFetcher(c, part)
	if d.auto {
		most := d.autoMax
		if info.Length >= 0 {
			most = min(most, d.splitsOf(info.Length)) // no more connections than MinSplit segments
		}
		fetcher.Auto = &segment.Auto{Max: most, Capped: d.capped} // its steps: scheduled
	}
	for fresh := 0; ; fresh++ {
		table, resumed, err := d.plan(part, info, p)
		if err != nil {
			return info, resumed, err
		}
		d.req.Progress.start(p.out, info.Length, table, &c.fetched)
		if !startsAtZero(table) {
			d.primed.close() // a resume: the first answer's bytes are not needed
		}
		if ranged(info) {
			var sources []*source
			if sources, err = d.probeMirrors(ctx, info); err != nil {
				return info, resumed, err
			}
			if len(sources) > 1 {
				d.primed.close() // a worker on a mirror could claim it
			}
			d.useSources(fetcher, sources)
			// The first request's answer is the first piece of the
			// segment at zero, if it is still there.
			fetcher.FirstPiece = d.primed.firstPiece()
			fetcher.Pieces = d.pieces(sources)
			d.autoPerMirror(fetcher, sources, c.log)
			err = d.fetchRanges(ctx, part, fetcher, info, table, p.info)
		} else {
			err = d.fetchStream(ctx, fetcher, info, table)
		}
		switch {
		case errors.Is(err, ErrRangeNotSupported) && info.Ranges:
			d.notify(EventRangesIgnored, "the server ignored a range request; downloading in one stream")
			info.Ranges = false
			continue
		case errors.Is(err, ErrRemoteChanged) && fresh < maxFreshStarts && ctx.Err() == nil:
			d.notify(EventRemoteChangedMidway, "the remote file changed during the download (%v); starting over", err)
			if info, err = d.probeFirst(ctx); err != nil {
				return info, 0, err
			}
			if err := discard(part, p.info); err != nil {
				return info, 0, ioError(err)
			}
			continue
		case err != nil && !ranged(info):
			// One stream: nothing of it can be resumed.
			return info, resumed, markedError{classify(err), ErrNotResumable}
		case err != nil:
			return info, resumed, markedError{classify(err), ErrResumable}
		}
		return info, resumed, nil
	}
}

// pieces is how the connections of a ranged download size their
// requests (segment.Pieces): at least MinSplit each, over HTTP(S); nil,
// one request per range, when a source is FTP, whose data connection
// ends with its answer.
func (d *Downloader) pieces(sources []*source) *segment.Pieces {
	for _, s := range sources {
		if strings.HasPrefix(strings.ToLower(s.remote.Info.URL), "ftp:") {
			return nil
		}
	}
	return &segment.Pieces{
		Min:   d.req.MinSplit,
		First: max(segment.DefaultFirstPiece, d.req.MinSplit),
		Max:   max(segment.DefaultMaxPiece, d.req.MinSplit),
	}
}

// verify checks what the .part holds once every segment is done: the
// remote's length, and the Request's checksum. It returns the size.
func (d *Downloader) verify(part *fileaccess.File, p paths, info siteinfo.Info) (int64, error) {
	size, err := part.Size()
	if err != nil {
		return 0, ioError(err)
	}
	if info.Length >= 0 && size != info.Length {
		return size, fmt.Errorf("%w: %s has %d bytes, expected %d", ErrIO, p.part, size, info.Length)
	}
	if d.req.Checksum != nil {
		// Through the locked file, not its path: on Windows the lock
		// keeps every other handle from reading it.
		if err := d.req.Checksum.verifyData(io.NewSectionReader(part, 0, size), p.part); err != nil {
			return size, err
		}
	}
	return size, nil
}

// counters are what a download's workers count as they go, for its
// Result: one set for a download and a stream alike.
type counters struct {
	fetched, reconnects, silent, retries atomic.Int64
	// parallel is the connections allowed at once: lowered when the
	// server says it is overloaded.
	parallel atomic.Int64
	lowered  sync.Once // the notice of the first lowering
	// log, for a download to a file, records how parallel changed and
	// why (-n auto); nil for a stream.
	log *parallelLog
}

func newCounters(parallel int) *counters {
	c := &counters{}
	c.parallel.Store(int64(parallel))
	return c
}

// fill copies the counts into res.
func (c *counters) fill(res *Result) {
	res.Fetched = c.fetched.Load()
	res.Reconnects = int(c.reconnects.Load())
	res.Silent = int(c.silent.Load())
	res.Retries = int(c.retries.Load())
	res.Parallel = int(c.parallel.Load())
	res.Connections = res.Parallel
}

// newFetcher is the segment.Fetcher of a download or a stream into out:
// the same rate limit, connection budget, buffers, retry policy, stall
// rule and reports for both.
func (d *Downloader) newFetcher(c *counters, out io.WriterAt) *segment.Fetcher {
	return &segment.Fetcher{
		Limits:      d.limits,
		Gate:        d.gate,
		Buffers:     d.bufs,
		Output:      out,
		Fetched:     &c.fetched,
		MaxTries:    d.req.MaxTries,
		RetryWait:   d.req.RetryWait,
		StallSpeed:  d.req.StallSpeed,
		StallWindow: d.req.StallWindow,
		OnEvent:     func(e segment.Event) { d.scheduled(c, e) },
	}
}

// scheduled turns what the scheduler tells (segment.Event) into the
// download's counters and events: overload, replaced connections,
// retries, steals, cuts and hedges, mirrors dropped and -n auto's steps.
func (d *Downloader) scheduled(c *counters, e segment.Event) {
	switch e.Kind {
	case segment.EventLower:
		c.lowered.Do(func() {
			d.event(Event{Kind: EventOverloaded, Err: e.Err, Connections: e.Connections,
				Text: fmt.Sprintf("the server is overloaded (%v); using fewer connections", e.Err)})
		})
		c.parallel.Store(int64(e.Connections))
		if c.log != nil {
			c.log.overloaded()
		}
	case segment.EventSteal, segment.EventCut, segment.EventHedge:
		kind, what := EventSteal, "takes over"
		switch e.Kind {
		case segment.EventCut:
			kind, what = EventCut, "cuts off and takes over"
		case segment.EventHedge:
			kind, what = EventHedge, "races"
		}
		d.event(Event{Kind: kind, Segment: e.Segment, Offset: e.Range.Start, Length: e.Range.Len(),
			Text: fmt.Sprintf("an idle connection %s bytes %d-%d of segment %d", what, e.Range.Start, e.Range.End, e.Segment)})
	case segment.EventReplace:
		d.event(Event{Kind: EventReplace, Segment: e.Segment, Offset: e.Offset, Rate: e.Rate, Err: e.Err,
			Text: fmt.Sprintf("replacing a connection at byte %d: %.0f B/s against a median of %.0f B/s", e.Offset, e.Rate, e.Median)})
		c.reconnects.Add(1)
		if e.Rate == 0 {
			c.silent.Add(1) // segment tells a silent connection's rate as 0
		}
	case segment.EventRetry:
		c.retries.Add(1)
		d.event(Event{Kind: EventRetry, Segment: e.Segment, Offset: e.Offset, Wait: e.Wait, Err: e.Err,
			Text: fmt.Sprintf("retrying byte %d in %v: %v", e.Offset, e.Wait.Round(time.Millisecond), e.Err)})
	case segment.EventMirrorDropped:
		if e.Mirror >= 0 && e.Mirror < len(d.sources) {
			url := d.sources[e.Mirror].url
			d.event(Event{Kind: EventMirrorDropped, URL: url, Err: e.Err, Text: fmt.Sprintf("giving up mirror %s (%v); going on with the others", url, e.Err)})
		}
	case segment.EventAutoStep:
		d.autoStepped(c.log, e.Mirror, e.Connections, e.Reason, e.Rate) // Mirror: -1 for the one count
	}
}

// sourceResults is Result.Sources: what each address served, and why it
// was dropped if it was. The shares add up to fetched, the download's
// total: with one source it is all of it; with several, each mirror's
// share is counted where the total is, and URL's also has the checked
// bytes of an adopted file (checked), which came from it.
func (d *Downloader) sourceResults(fetched, checked int64) []Source {
	var out []Source
	for i, s := range d.sources {
		src := Source{URL: s.url, Fetched: fetched}
		if m := s.mirror; m != nil {
			src.Fetched = m.Written()
			if i == 0 {
				src.Fetched += checked
			}
			if err := m.Dropped(); err != nil {
				src.Dropped = err.Error()
			}
		}
		out = append(out, src)
	}
	return out
}

// classify wraps local write failures as ErrIO, and a refusal of the link
// after the probe had accepted it as ErrLinkRefused; other errors pass
// through.
func classify(err error) error {
	var (
		we     *segment.WriteError
		status *siteinfo.StatusError
	)
	switch {
	case errors.As(err, &we):
		return ioError(err)
	case errors.As(err, &status) && (status.Code == http.StatusUnauthorized || status.Code == http.StatusForbidden):
		return fmt.Errorf("%w (%w): it may have expired", ErrLinkRefused, err)
	}
	return err
}

// ioError wraps a local file-system failure as ErrIO. The CLI adds what
// to do about the common ones (a full disk, a read-only place).
func ioError(err error) error {
	if fileaccess.DiskFull(err) {
		return fmt.Errorf("%w: %w: %w", ErrIO, ErrDiskFull, err)
	}
	return fmt.Errorf("%w: %w", ErrIO, err)
}

// fetchRanges runs the workers over table and checkpoints their progress
// until every segment is done or one fails.
func (d *Downloader) fetchRanges(ctx context.Context, part *fileaccess.File, fetcher *segment.Fetcher, info siteinfo.Info, table *segment.Table, infoPath string) error {
	cp := &checkpointer{d: d, part: part, info: info, table: table, path: infoPath}
	stop := make(chan struct{})
	cpDone := make(chan struct{})
	go func() {
		defer close(cpDone)
		cp.loop(stop)
	}()
	err := segment.Run(ctx, table, fetcher, d.connectionsFor(table.Remaining()))
	close(stop)
	<-cpDone
	if err == nil && d.req.Checksum == nil {
		return nil // finish flushes the data; the .info is about to go
	}
	if err == nil {
		// The checksum may yet refuse the data, which then stays as the
		// .part: its .info must say that every byte is here, so that a
		// run with the right checksum only verifies it again.
		if saveErr := cp.save(true); saveErr != nil {
			d.notify(EventSaveFailed, "cannot save progress to %s: %v", infoPath, saveErr)
		}
		return nil
	}
	// After a failure the last save is durable: it is what the next run
	// resumes from.
	if saveErr := cp.save(true); saveErr != nil {
		d.notify(EventSaveFailed, "cannot save progress to %s: %v", infoPath, saveErr)
	}
	return err
}

// fetchStream downloads the whole file in one request, for servers
// without ranges or without a length.
func (d *Downloader) fetchStream(ctx context.Context, fetcher *segment.Fetcher, info siteinfo.Info, table *segment.Table) error {
	if info.Length < 0 {
		d.notify(EventNoLength, "the server does not give the file's length; downloading in one stream (an interruption will start over)")
	} else {
		d.notify(EventNoRanges, "the server does not support byte ranges; downloading in one stream (an interruption will start over)")
	}
	e := table.Take()
	remote := &siteinfo.Remote{Client: d.client, Info: info}
	stream := &streamOpener{open: remote.OpenStream, primed: d.primed}
	single := &segment.Fetcher{
		Limits:      fetcher.Limits,
		Gate:        fetcher.Gate,
		Buffers:     fetcher.Buffers,
		Opener:      stream,
		Output:      fetcher.Output,
		Fetched:     fetcher.Fetched,
		MaxTries:    1, // a stream cannot continue mid-way
		StallSpeed:  fetcher.StallSpeed,
		StallWindow: fetcher.StallWindow,
	}
	err := single.Fetch(ctx, e.Segment)
	if errors.Is(err, io.ErrUnexpectedEOF) && info.Length < 0 {
		// Without a length, the end of the body is the end of the file.
		err = nil
	}
	return err
}

// errStreamBroken reports a single stream cut before its end: without
// ranges there is no way to continue it.
var errStreamBroken = retry.Permanent(errors.New("the connection broke and this server cannot continue a download"))

// streamOpener adapts a whole-file request to segment.Opener: it serves
// only a range starting at zero.
type streamOpener struct {
	open   func(context.Context) (io.ReadCloser, error)
	primed *primed
}

func (s *streamOpener) OpenRange(ctx context.Context, r byterange.Range) (io.ReadCloser, error) {
	if r.Start != 0 {
		return nil, errStreamBroken
	}
	if body := s.primed.take(ctx, r); body != nil {
		return body, nil
	}
	return s.open(ctx)
}

// Stat asks the remote about the job's URL the way a download's first
// request does (same transport, headers, credentials, redirect policy
// and retries), without downloading the file.
func (d *Downloader) Stat(ctx context.Context) (siteinfo.Info, error) {
	return d.probeURL(ctx, d.req.URL)
}
