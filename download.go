package netfox

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"

	"github.com/netfox/netfox/byterange"
	"github.com/netfox/netfox/fileaccess"
	"github.com/netfox/netfox/retry"
	"github.com/netfox/netfox/segment"
	"github.com/netfox/netfox/siteinfo"
	"github.com/netfox/netfox/state"
)

// Result describes a finished download.
type Result struct {
	// Path is the output file.
	Path string
	// Size is its length in bytes.
	Size int64
	// Fetched is the number of bytes received in this run; Resumed the
	// number taken over from an earlier, interrupted run.
	Fetched, Resumed int64
	// Elapsed is the wall time of this run.
	Elapsed time.Duration
	// Connections is the number of TCP connections the download went
	// over (probe included; an HTTP/2 client that multiplexes every range
	// on one connection counts one). For FTP it is the number of workers.
	Connections int
	// Parallel is the number of connections allowed at once at the end:
	// the Request's, or fewer when the server said it was overloaded, or
	// the one AutoConnections settled at.
	Parallel int
	// ParallelReason tells why Parallel is what it is: "fixed" (the
	// Request's count), "overloaded" (the server said so), and with
	// AutoConnections "gain" (one more step raised the rate by less than
	// 10%), "max" (AutoMax reached) or "finished" (the download ended
	// before the search). With mirrors, AutoConnections searches a count
	// for each source (Sources), Parallel is their sum and the reason
	// "mirrors" (ReasonMirrors).
	ParallelReason string
	// ParallelSteps are the changes of Parallel over the download, the
	// first at the start, with AutoConnections; nil otherwise.
	ParallelSteps []ParallelStep
	// Reconnects counts connections closed and replaced by a new one
	// because they stayed far below the others at their steady rate, or
	// went silent while the others delivered; Silent is how many of them
	// went silent (sent nothing for much longer than the others take).
	// Retries counts the retries after failed attempts.
	Reconnects, Silent, Retries int
	// Sources are the bytes fetched in this run from URL and from each
	// mirror still in use, in the order of the Request.
	Sources []Source
	// AlreadyComplete reports that Path already held the remote's current
	// version, by the record netfox keeps in a finished file (the same
	// strong ETag, or the same origin and Last-Modified; see complete.go)
	// or by the Request's Checksum, and nothing was fetched.
	AlreadyComplete bool
}

// ParallelStep is one change of the number of connections.
type ParallelStep struct {
	// At is the time since the download began.
	At time.Duration
	// Connections is the new count; Rate the aggregate bytes per second
	// measured at the count before (0 when not measured).
	Connections int
	Rate        float64
	// Source is the index in Result.Sources of the source whose count
	// changed, when AutoConnections searched one for each; 0 otherwise.
	Source int
}

// Source is one address of the file and what it served.
type Source struct {
	URL     string
	Fetched int64
	// Parallel and ParallelReason are the count AutoConnections settled
	// at for this source and why (as Result's), when it searched one for
	// each source; zero and empty otherwise.
	Parallel       int
	ParallelReason string
	// Dropped tells why the source was not used or given up; empty when
	// it served to the end.
	Dropped string
}

// maxFreshStarts bounds how often one run starts over because the remote
// file changed under it: a file that keeps changing cannot be downloaded.
const maxFreshStarts = 1

type downloader struct {
	req     Request
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
	limits []*rate.Limiter
	// slots is the connection budget of the URL's host, shared with the
	// other downloads of the Client; primed is the first request's
	// answer while no segment has taken it.
	slots  *semaphore.Weighted
	primed *primed
	// hostSlots returns the budget of a mirror's host.
	hostSlots func(rawURL string) *semaphore.Weighted
	bufs      *sync.Pool // the Client's read buffers
}

// newDownloader checks req and prepares its download on c, capped by own
// (the transfer's limiter) and c's shared limit.
func newDownloader(c *Client, req Request, own *rate.Limiter) (*downloader, error) {
	req = req.withDefaults()
	for _, m := range req.Mirrors {
		if err := siteinfo.CheckURL(m); err != nil {
			return nil, fmt.Errorf("%w: mirror: %w", ErrUsage, err)
		}
	}
	auto := req.Connections == AutoConnections
	autoMax := req.AutoMax
	if autoMax == 0 {
		autoMax = DefaultAutoMax
	}
	if autoMax < 1 || autoMax > MaxConnections {
		return nil, fmt.Errorf("%w: the most connections must be between 1 and %d, not %d", ErrUsage, MaxConnections, autoMax)
	}
	if req.Continue && (req.Restart || req.Overwrite) {
		return nil, fmt.Errorf("%w: Continue takes over a partial file; it cannot be combined with Restart or Overwrite", ErrUsage)
	}
	if err := siteinfo.CheckURL(req.URL); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	capped := false
	if auto {
		req.Connections, capped = autoStart(req.CacheDir, req.URL, autoMax)
	}
	if req.Connections < 1 || req.Connections > MaxConnections {
		return nil, fmt.Errorf("%w: connections must be between 1 and %d, not %d", ErrUsage, MaxConnections, req.Connections)
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	httpClient := req.HTTPClient
	if httpClient == nil {
		httpClient = c.http
	}
	header := req.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if header.Get("User-Agent") == "" {
		header.Set("User-Agent", cmp.Or(req.UserAgent, c.userAgent))
	}
	return &downloader{
		req:     req,
		conns:   req.Connections,
		auto:    auto,
		autoMax: autoMax,
		capped:  capped,
		client: &siteinfo.Client{
			HTTP: httpClient, Header: header, User: req.User, Password: req.Password, Credentials: req.Credentials,
			LocationTrusted: req.LocationTrusted, AllowInsecureRedirect: req.AllowInsecureRedirect,
		},
		bootID:    state.BootID(),
		limits:    []*rate.Limiter{own, c.limiter},
		slots:     c.hostSlots(req.URL),
		hostSlots: c.hostSlots,
		bufs:      &c.bufs,
	}, nil
}

// openPart opens and locks the .part file.
func openPart(path string) (*fileaccess.File, error) {
	part, err := fileaccess.Open(path)
	switch {
	case errors.Is(err, fileaccess.ErrLocked):
		return nil, fmt.Errorf("%w (wait for it to finish, or stop it first)", err)
	case errors.Is(err, fileaccess.ErrNotRegular):
		return nil, fmt.Errorf("%w: %w; netfox does not write through it", ErrIO, err)
	case errors.Is(err, fileaccess.ErrForeign):
		return nil, fmt.Errorf("%w; netfox does not use it, and leaves it as it is", err)
	case err != nil:
		return nil, ioError(err)
	}
	return part, nil
}

// paths are the three files of one download.
type paths struct {
	out, part, info string
}

// run is one download, step by step: ask the remote about the file
// (probe), take over a partial file (Continue) or stop at a complete one,
// open and lock the .part, plan and fetch its segments, verify what was
// written, and make it final.
func (d *downloader) run(ctx context.Context) (Result, error) {
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
func (d *downloader) parallelFor(info siteinfo.Info) int {
	if !ranged(info) {
		return d.conns
	}
	return d.connectionsFor(info.Length)
}

// openOutput opens and locks the .part, and readies it for this run:
// emptied for Restart, refused when it holds data no .info vouches for.
// It reports complete when a run that finished while this one opened
// the .part left the remote's version at the output: nothing to fetch.
func (d *downloader) openOutput(p paths, info siteinfo.Info) (part *fileaccess.File, complete bool, err error) {
	if err := d.checkPartFile(p); err != nil {
		return nil, false, err
	}
	if part, err = openPart(p.part); err != nil {
		return nil, false, err
	}
	// A run that finished while this one opened the .part leaves PATH
	// behind (Open then made a new .part): stop rather than fetch again;
	// when PATH is provably the remote's version, as a re-run would.
	if complete, err = d.checkOutput(p.out, info); err != nil || complete {
		if part.Created() {
			os.Remove(p.part)
		}
		part.Close()
		return nil, complete, err
	}
	if d.req.Restart {
		err = discard(part, p.info)
		if errors.Is(err, fileaccess.ErrForeign) {
			err = fmt.Errorf("%w; --restart does not remove it", err)
		} else if err != nil {
			err = ioError(err)
		}
	} else {
		err = checkLonePart(part, p, info)
	}
	if err != nil {
		part.Close()
		return nil, false, err
	}
	return part, false, nil
}

// fetch plans the segments of the .part (a resume, a fresh start, an
// adopted file) and fetches them, in ranges from every source or in one
// stream. It falls back to one stream when the server ignores ranges
// after all, and starts over once when the remote file changes under it.
// It returns the info the data belongs to and the bytes resumed.
func (d *downloader) fetch(ctx context.Context, part *fileaccess.File, info siteinfo.Info, p paths, c *counters) (siteinfo.Info, int64, error) {
	fetcher := d.newFetcher(c, part)
	if d.auto {
		most := d.autoMax
		if info.Length >= 0 {
			most = min(most, d.splitsOf(info.Length)) // no more connections than MinSplit segments
		}
		fetcher.Auto = &segment.Auto{Max: most, Capped: d.capped, OnChange: func(n int, why segment.Reason, rate float64) {
			c.log.change(-1, n, why, rate)
		}}
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
			d.notify(NoticeRangesIgnored, "the server ignored a range request; downloading in one stream")
			info.Ranges = false
			continue
		case errors.Is(err, ErrRemoteChanged) && fresh < maxFreshStarts && ctx.Err() == nil:
			d.notify(NoticeRemoteChangedMidway, "the remote file changed during the download (%v); starting over", err)
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
func (d *downloader) pieces(sources []*source) *segment.Pieces {
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
func (d *downloader) verify(part *fileaccess.File, p paths, info siteinfo.Info) (int64, error) {
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
func (d *downloader) newFetcher(c *counters, out io.WriterAt) *segment.Fetcher {
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
		OnLower: func(allowed int, cause error) {
			c.lowered.Do(func() {
				d.notify(NoticeOverloaded, "the server is overloaded (%v); using fewer connections", cause)
			})
			c.parallel.Store(int64(allowed))
			if c.log != nil {
				c.log.overloaded()
			}
		},
		OnReconnect: func(_ *segment.Segment, rate, _ float64) {
			c.reconnects.Add(1)
			if rate == 0 {
				c.silent.Add(1) // segment reports a silent connection's rate as 0
			}
		},
		OnRetry: func(s *segment.Segment, err error, wait time.Duration) {
			c.retries.Add(1)
			if d.req.OnRetry != nil {
				d.req.OnRetry(s.Next(), public(err), wait)
			} else {
				d.notify(NoticeRetry, "retrying byte %d in %v: %v", s.Next(), wait.Round(time.Millisecond), err)
			}
		},
	}
}

// sourceResults is Result.Sources: what each address served, and why it
// was dropped if it was. The shares add up to fetched, the download's
// total: with one source it is all of it; with several, each mirror's
// share is counted where the total is, and URL's also has the checked
// bytes of an adopted file (checked), which came from it.
func (d *downloader) sourceResults(fetched, checked int64) []Source {
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

// newLimiter returns a limiter of bytesPerSec for all the connections
// that share it; zero or less is no cap (rate.Inf). setLimit changes it
// while they run.
func newLimiter(bytesPerSec int64) *rate.Limiter {
	l := rate.NewLimiter(rate.Inf, maxBurst)
	setLimit(l, bytesPerSec)
	return l
}

// maxBurst is the most a limiter lets through at once.
const maxBurst = 256 << 10

// setLimit sets l to bytesPerSec, no cap for zero or less. The burst, the
// most read at once, is an eighth of a second of transfer within
// [4 KiB, 256 KiB]: small enough for a smooth rate, large enough for few
// syscalls.
func setLimit(l *rate.Limiter, bytesPerSec int64) {
	if bytesPerSec <= 0 {
		l.SetLimit(rate.Inf)
		return
	}
	l.SetBurst(int(min(max(bytesPerSec/8, 4<<10), maxBurst)))
	l.SetLimit(rate.Limit(bytesPerSec))
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
		return fmt.Errorf("%w (%w): it may have expired; get a fresh link to the same file and run again with it, the download resumes", ErrLinkRefused, err)
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

// outputPaths decides where the file goes: Output as given, or the
// server's suggested name inside Dir.
func (d *downloader) outputPaths(info siteinfo.Info) paths {
	out := d.req.Output
	if out == "" {
		out = filepath.Join(d.req.Dir, info.Filename)
	}
	return pathsOf(out)
}

// pathsOf are the files of a download to out: out.part and out.info, or
// for a name too long for the suffix (NAME_MAX is 255 bytes) a shortened
// name with a hash of the whole (auxName).
func pathsOf(out string) paths {
	return paths{out: out, part: auxName(out, ".part"), info: auxName(out, ".info")}
}

// maxName is the longest file name in bytes (NAME_MAX on Linux, most
// file systems elsewhere).
const maxName = 255

// auxName is out+suffix, or when its last element would be longer than
// maxName, that element cut to fit (at a UTF-8 boundary), a "~" and 8 hex
// digits of a hash of the whole name, then suffix: the same name every
// run (a resume finds it), and two long names that share a beginning get
// different ones. A name of 240 to 255 bytes is then saved as curl and
// aria2c save it, rather than failing on its .part or .info.
func auxName(out, suffix string) string {
	dir, base := filepath.Split(out)
	if len(base)+len(suffix) <= maxName {
		return out + suffix
	}
	sum := sha256.Sum256([]byte(base))
	tag := "~" + hex.EncodeToString(sum[:4])
	cut := maxName - len(suffix) - len(tag)
	for cut > 0 && !utf8.RuneStart(base[cut]) {
		cut--
	}
	return dir + base[:cut] + tag + suffix
}

// checkOutput refuses to replace a finished file unless told to: the .part
// suffix keeps unfinished data apart, so a file at the output path is
// a complete earlier download or someone else's file. It reports whether
// the file is provably the remote's current version (see complete.go):
// then there is nothing to do. Anything but a regular file (a device, a
// FIFO, a symbolic link) is never replaced, Overwrite or not, and never
// written through.
func (d *downloader) checkOutput(out string, info siteinfo.Info) (complete bool, err error) {
	fi, err := os.Lstat(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, ioError(err)
	case fi.IsDir():
		return false, fmt.Errorf("%w: %s is a directory", ErrIO, out)
	case !fi.Mode().IsRegular():
		return false, fmt.Errorf("%w: %w: %s is a %s; netfox replaces only regular files and leaves it as it is", ErrIO, ErrNotRegular, out, fileaccess.TypeName(fi.Mode()))
	}
	return d.checkExisting(out, fi, info)
}

// fetchRanges runs the workers over table and checkpoints their progress
// until every segment is done or one fails.
func (d *downloader) fetchRanges(ctx context.Context, part *fileaccess.File, fetcher *segment.Fetcher, info siteinfo.Info, table *segment.Table, infoPath string) error {
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
			d.notify(NoticeSaveFailed, "cannot save progress to %s: %v", infoPath, saveErr)
		}
		return nil
	}
	// After a failure the last save is durable: it is what the next run
	// resumes from.
	if saveErr := cp.save(true); saveErr != nil {
		d.notify(NoticeSaveFailed, "cannot save progress to %s: %v", infoPath, saveErr)
	}
	return err
}

// fetchStream downloads the whole file in one request, for servers
// without ranges or without a length.
func (d *downloader) fetchStream(ctx context.Context, fetcher *segment.Fetcher, info siteinfo.Info, table *segment.Table) error {
	if info.Length < 0 {
		d.notify(NoticeNoLength, "the server does not give the file's length; downloading in one stream (an interruption will start over)")
	} else {
		d.notify(NoticeNoRanges, "the server does not support byte ranges; downloading in one stream (an interruption will start over)")
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
var errStreamBroken = retry.Permanent(errors.New("the connection broke and this server cannot continue a download; run again to start over"))

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

// finish makes the download final: flush the data, so that a power loss
// right after cannot leave a file of the right name with holes, then
// rename and drop the control file.
// The rename happens before the close, under the lock; a run that opened
// the .part just before sees, once it has the lock, that the name is gone
// (fileaccess.Open). Unless overwrite is set, the rename never replaces a
// file that appeared at the output path during the download: it fails
// with fs.ErrExist and leaves the .part and the .info as they are.
func finish(part *fileaccess.File, p paths, overwrite bool) error {
	err := part.Sync()
	if err == nil && overwrite {
		err = fileaccess.Rename(p.part, p.out)
	} else if err == nil {
		err = fileaccess.RenameNoReplace(p.part, p.out)
	}
	if errors.Is(err, fs.ErrExist) {
		part.Close()
		return err
	}
	if err == nil {
		err = os.Remove(p.info)
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	}
	if closeErr := part.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return err
	}
	return state.SyncDir(filepath.Dir(p.out))
}

// parallelLog records how the number of connections changed and why it
// is what it is at the end: one count, or with mirrors searched each on
// its own (autoPerMirror) one per source, whose sum is connections.
type parallelLog struct {
	began       time.Time
	connections *atomic.Int64 // the count of all sources together

	mu      sync.Mutex
	reason  string
	steps   []ParallelStep
	counts  []int    // per source, with a search each; nil otherwise
	reasons []string // per source, alike
}

// change records a change of the count of source i, or of the one count
// (i < 0), to n.
func (l *parallelLog) change(i, n int, why segment.Reason, rate float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	total := n
	step := ParallelStep{At: time.Since(l.began), Connections: n, Rate: rate}
	if i >= 0 && i < len(l.counts) {
		l.counts[i], l.reasons[i] = n, string(why)
		total = 0
		for _, c := range l.counts {
			total += c
		}
		step.Source = i
	} else {
		l.reason = string(why)
	}
	l.connections.Store(int64(total))
	last := -1
	for k := len(l.steps) - 1; k >= 0; k-- {
		if l.steps[k].Source == step.Source {
			last = k
			break
		}
	}
	if last < 0 || l.steps[last].Connections != n {
		l.steps = append(l.steps, step)
	}
}

// perSource starts a count for each of n sources, or one count for all
// when there is one source (a fresh start may have fewer than before).
func (l *parallelLog) perSource(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < 2 {
		l.counts, l.reasons = nil, nil
		return
	}
	l.counts, l.reasons = make([]int, n), make([]string, n)
	l.reason = ReasonMirrors
}

func (l *parallelLog) overloaded() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.reason = string(segment.ReasonOverloaded)
	}
}

func (l *parallelLog) result() (string, []ParallelStep) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reason, slices.Clone(l.steps)
}

// sourceResults adds each source's count and reason to sources.
func (l *parallelLog) sourceResults(sources []Source) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range min(len(sources), len(l.counts)) {
		sources[i].Parallel, sources[i].ParallelReason = l.counts[i], l.reasons[i]
	}
}

// ReasonMirrors is Result.ParallelReason when AutoConnections searched a
// count for each source: each Source says its own.
const ReasonMirrors = "mirrors"

// autoPerMirror gives each of several sources a search of its own under
// AutoConnections, starting at the count remembered for its host.
func (d *downloader) autoPerMirror(f *segment.Fetcher, sources []*source, l *parallelLog) {
	if f.Auto == nil {
		return
	}
	f.Auto.PerMirror = nil
	l.perSource(len(sources))
	if len(sources) < 2 {
		return
	}
	for i, s := range sources {
		raw := d.req.URL
		if i > 0 {
			raw = s.raw
		}
		start, capped := autoStart(d.req.CacheDir, raw, f.Auto.Max)
		f.Auto.PerMirror = append(f.Auto.PerMirror, &segment.Auto{Max: f.Auto.Max, Start: start, Capped: capped,
			OnChange: func(n int, why segment.Reason, rate float64) { l.change(i, n, why, rate) }})
	}
}

// rememberCounts stores the counts AutoConnections settled at for the
// hosts of the download: the one count for URL's, or each source's for
// its own when they were searched each on its own. A search that the
// download's end cut short, or a source given up, is not stored.
func (d *downloader) rememberCounts(l *parallelLog, res Result) {
	type entry struct {
		url    string
		n      int
		reason string
	}
	var entries []entry
	l.mu.Lock()
	if l.counts == nil {
		entries = append(entries, entry{d.req.URL, res.Parallel, l.reason})
	} else {
		for i, s := range d.sources {
			raw := d.req.URL
			if i > 0 {
				raw = s.raw
			}
			if i < len(l.counts) && (s.mirror == nil || s.mirror.Dropped() == nil) {
				entries = append(entries, entry{raw, l.counts[i], l.reasons[i]})
			}
		}
	}
	l.mu.Unlock()
	for _, e := range entries {
		if e.reason == string(segment.ReasonFinished) || e.n < 1 {
			continue
		}
		hc := hostCount{Connections: e.n, Source: "auto", Capped: e.reason == string(segment.ReasonOverloaded)}
		if err := remember(d.req.CacheDir, e.url, hc); err != nil {
			d.notify(NoticeCacheFailed, "cannot remember the number of connections for this host: %v", err)
			return
		}
	}
}
