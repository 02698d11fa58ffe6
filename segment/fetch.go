package segment

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netfox/netfox/byterange"
	"github.com/netfox/netfox/internal/clock"
	"github.com/netfox/netfox/retry"
)

// Opener opens a byte range of the remote file. The body it returns must
// belong to the version of the file that the download started with (the
// opener checks If-Range and Content-Range before returning) and yield at
// most r.Len() bytes; the fetcher treats fewer as a cut connection.
type Opener interface {
	OpenRange(ctx context.Context, r byterange.Range) (io.ReadCloser, error)
}

// WriteError indicates that writing fetched bytes to the output failed
// (a full disk, an I/O error). It is permanent: the bytes are not lost on
// the remote side, but retrying will not make room on the disk.
type WriteError struct{ Err error }

func (e *WriteError) Error() string   { return "write output: " + e.Err.Error() }
func (e *WriteError) Unwrap() error   { return e.Err }
func (e *WriteError) Permanent() bool { return true }

// ErrStalled indicates a connection cut because it delivered less than the
// stall floor over the stall window. It is transient: the range is retried
// on a new connection.
var ErrStalled = errors.New("connection stalled")

// ErrSlowConnection indicates an attempt ended because its connection ran
// far below the others; the range goes on at once on a new connection.
var ErrSlowConnection = errors.New("connection much slower than the others")

// ErrSilent indicates an attempt ended because its connection sent
// nothing (no response headers, or no more of the body) for several times
// as long as the others need; the range goes on at once on a new
// connection.
var ErrSilent = errors.New("connection silent while the others deliver")

// isReconnect reports whether err ended an attempt so that its range goes
// on at once on a new connection, without counting as a failure.
func isReconnect(err error) bool {
	return errors.Is(err, ErrSlowConnection) || errors.Is(err, ErrSilent)
}

// Fetcher copies segments from an Opener into a WriterAt.
type Fetcher struct {
	Opener Opener
	Output io.WriterAt

	// Mirrors, when set, are several sources of the same file: Run
	// spreads its workers over them, moves a worker whose connection
	// runs slow to the next mirror, and drops a mirror that fails after
	// its retries, going on with the others. Opener is not used by Run
	// then.
	Mirrors []*Mirror

	// MaxTries bounds the attempts per segment without progress; an
	// attempt that writes at least one byte resets the count, so a long
	// download over a flaky link keeps going. Zero means 5.
	MaxTries int
	// RetryBase is the first backoff delay, doubled per failed try up to
	// RetryWait. Zero means retry.DefaultBase and retry.DefaultCeiling.
	RetryBase, RetryWait time.Duration
	// StallSpeed and StallWindow define a stalled connection: one that
	// received fewer than StallSpeed bytes per second over the last
	// StallWindow. It is cut and retried on a new connection. Zero means
	// DefaultStallSpeed and DefaultStallWindow; a negative StallWindow
	// turns the check off.
	StallSpeed  int64
	StallWindow time.Duration

	// SlowWindow is the window over which each connection's rate is
	// measured; a connection whose steady rate (from a window after its
	// answer on) stays below the median rate / SlowRatio for two windows
	// in a row is closed and its range goes on over a new one (a server
	// or path that caps connections unevenly often gives the new one a
	// better lot), unless an earlier replacement on the same server gave
	// a successor no faster (see slow.go). Zero means DefaultSlowWindow and
	// DefaultSlowRatio; a negative SlowWindow
	// turns these reconnects off, though rates are still measured for
	// work stealing. (Connections silent far longer than the others are
	// closed regardless: see silent.go.)
	SlowWindow time.Duration
	SlowRatio  float64
	// MaxReconnects bounds the reconnects of slow and silent connections
	// in one Run, so that a host cannot be stormed. Zero means four per
	// connection.
	MaxReconnects int
	// Limits cap the bytes per second of all the segments that share
	// them: every byte passes each of them (a download's own cap and its
	// Client's shared one). A limit may change while it runs; reads and
	// waits follow its current burst.
	Limits []*Limit
	// Gate, when set, is asked for a connection before each attempt,
	// whose first request is for r to o (with Pieces, the attempt's
	// later requests go over the same connection), and returns the
	// function that gives it back. It bounds the
	// connections open at once to a host across downloads. The wait for
	// it is not part of the attempt: neither the stall watchdog nor the
	// slow-connection monitor sees a request that has not been sent.
	Gate func(ctx context.Context, r byterange.Range, o Opener) (release func(), err error)

	// Pieces, when set, makes each connection ask for its range in
	// pieces sized to what it delivers in a few seconds, back to back,
	// so that an idle connection takes bytes nobody asked for yet rather
	// than cut a running request (pieces.go). For HTTP, whose
	// connections carry one request after another; not for FTP, whose
	// data connection ends with its answer.
	Pieces *Pieces
	// FirstPiece, when set, is where the first request for a range
	// starting at byte zero ends: the download's first request, whose
	// answer is kept, holds the file's bytes up to there (netfox's
	// probe). The segment at zero reads them as its first piece and asks
	// for the rest with new requests on the same connection.
	FirstPiece int64

	// Auto, when set, makes Run search for its number of connections
	// rather than keep the one it is given (-n auto).
	Auto *Auto

	// OnEvent, when set, is told what the scheduler does: retries,
	// steals, end-game cuts, hedges, replaced connections, mirrors
	// dropped, connections lowered, -n auto's steps (see Event). It is
	// called from the Run's goroutines, at once from several: it must be
	// safe for concurrent use, and quick, for the connection that tells
	// waits for it.
	OnEvent func(Event)

	// Fetched, when set, counts bytes received and written, across all
	// segments and fetchers that share it.
	Fetched *atomic.Int64

	// Buffers, when set, holds the read buffers (*[]byte of bufSize)
	// of every fetcher that shares it, the downloads of one client: a
	// batch of many files then reuses a few buffers instead of
	// allocating its own for each file.
	Buffers *sync.Pool

	// Clock is the time every rule of the fetcher reads and waits on
	// (stalls, slow and silent connections, hedges, pieces, retry
	// waits, Auto); nil means the wall clock. Tests set a clock.Fake.
	// (The rate limits, Limits, keep to the wall clock.)
	Clock clock.Clock

	// bufs holds read buffers so that stolen ranges and retries reuse
	// them instead of allocating per attempt, when Buffers is nil.
	bufs sync.Pool
}

// clock is f.Clock, or the wall clock.
func (f *Fetcher) clock() clock.Clock { return clock.Or(f.Clock) }

// buffers is the pool of read buffers of f.
func (f *Fetcher) buffers() *sync.Pool {
	if f.Buffers != nil {
		return f.Buffers
	}
	return &f.bufs
}

// A batch is gathered from the network before it is written: one pwrite
// per batch instead of one per network read. A batch ends at minBatch
// bytes or maxBatchWait after its first byte, so a slow connection still
// shows progress (and a kill -9 costs little) while a fast one writes
// in large pieces.
const (
	minBatch     = 64 << 10
	maxBatchWait = 50 * time.Millisecond
)

// gather reads from r into buf until it holds minBatch bytes, or
// maxBatchWait has passed since the first byte, or r fails; it returns
// what it read with the error, if any. received counts every byte as it
// arrives, for the rate measurements.
func gather(c clock.Clock, r io.Reader, buf []byte, received *atomic.Int64) (int, error) {
	goal := min(len(buf), minBatch)
	var n int
	var first time.Time
	for n < goal {
		m, err := r.Read(buf[n:])
		if m > 0 {
			received.Add(int64(m))
			if n == 0 {
				first = c.Now()
			}
			n += m
		}
		if err != nil {
			return n, err
		}
		if n > 0 && clock.Since(c, first) >= maxBatchWait {
			break
		}
	}
	return n, nil
}

// bufSize is the read buffer of one connection. Large reads mean few
// syscalls per byte (a read and a pwrite per buffer); the bytes between a
// read and its write are microseconds old, so the size costs nothing on a
// kill, only memory: 256 KiB per connection.
const bufSize = 256 << 10

// Fetch downloads the remaining bytes of s, retrying transient failures
// from the byte reached. It returns nil once s is done.
func (f *Fetcher) Fetch(ctx context.Context, s *Segment) error {
	return f.fetch(ctx, s, nil)
}

// fetch is Fetch for a worker of Run (w may be nil): transient errors are
// reported to the worker's pool, and the fetch stops with errRetired when
// the pool was lowered below the worker (its connection is cut then).
func (f *Fetcher) fetch(ctx context.Context, s *Segment, w *worker) error {
	maxTries := f.maxTries()
	failures := 0
	for !s.Done() {
		if w != nil && w.retired() {
			return errRetired
		}
		before := s.Next()
		err := f.attempt(ctx, s, w)
		if err == nil {
			continue // a clean end of body: loop checks Done
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errRetired) {
			return err // the pool gave this connection back
		}
		if retry.IsPermanent(err) {
			return err
		}
		if isReconnect(err) {
			// Not a failure: go on at once, on a new connection, from
			// the next mirror if there are several (unless the worker's
			// crew has a mirror of its own).
			if w != nil && w.mirror != nil && w.crew.mirror == nil {
				w.mirror = w.mirrors.rotate(w.mirror)
			}
			continue
		}
		if w != nil {
			w.pool.note(err, w)
			if w.retired() {
				return errRetired
			}
			// A mirror that keeps failing, even with progress between
			// failures, is given up while others can serve.
			if w.mirror != nil && w.mirror.failures.Add(1) >= int64(2*maxTries) && w.mirrors.alive() > 1 {
				return fmt.Errorf("%d failures: %w", w.mirror.failures.Load(), err)
			}
		}
		if s.Next() > before {
			failures = 0
		}
		failures++
		if failures >= maxTries {
			return fmt.Errorf("giving up after %d tries at byte %d: %w", failures, s.Next(), err)
		}
		wait := f.backoff(failures, err)
		f.emitRetry(s, w, err, wait)
		if err := clock.Sleep(ctx, f.clock(), wait); err != nil {
			return err
		}
	}
	return nil
}

// emitRetry tells of a retry of s, which w (nil outside Run) fetches,
// after err and wait.
func (f *Fetcher) emitRetry(s *Segment, w *worker, err error, wait time.Duration) {
	e := newEvent(EventRetry)
	e.Segment, e.Offset, e.Err, e.Wait = s.id, s.Next(), err, wait
	if w != nil {
		e.Mirror = mirrorIndex(w.mirror)
	}
	f.emit(e)
}

// maxTries is MaxTries with its default.
func (f *Fetcher) maxTries() int {
	if f.MaxTries <= 0 {
		return retry.DefaultTries
	}
	return f.MaxTries
}

// backoff is the wait before try number failures+1.
func (f *Fetcher) backoff(failures int, err error) time.Duration {
	return retry.Backoff(failures, f.RetryBase, f.RetryWait, err)
}

// attempt fetches [Next, End) over one connection: in one request, or
// with f.Pieces in pieces requested back to back (pieces.go), until the
// segment is done (End may have moved down meanwhile), an answer ends
// short, or an error occurs.
func (f *Fetcher) attempt(ctx context.Context, s *Segment, w *worker) (err error) {
	if s.Remaining() <= 0 {
		return nil
	}
	opener := f.Opener
	if w != nil && w.mirror != nil {
		opener = w.mirror.Opener
		s.server.Store(w.mirror)
	}
	pieces := f.newPieces(s, w)
	if f.Gate != nil {
		r := byterange.Range{Start: s.Next(), End: s.End()}
		if n := pieces.first(); n > 0 {
			r.End = min(r.End, r.Start+n)
		}
		release, err := f.Gate(ctx, r, opener)
		if err != nil {
			return err
		}
		defer release()
		if w != nil && w.retired() {
			return errRetired // given back while it waited
		}
	}
	attemptCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s.beginAttempt(cancel, f.clock().Now())
	defer s.endAttempt()
	// The segment's arrival counter is cumulative; the watchdog looks at
	// its growth, which is this attempt's.
	stopWatch := f.watchStall(&s.received, cancel)
	defer stopWatch()
	// A stall cancels attemptCtx; report the stall rather than the
	// "context canceled" it causes.
	defer func() {
		cause := context.Cause(attemptCtx)
		if err != nil && ctx.Err() == nil && (errors.Is(cause, ErrStalled) || isReconnect(cause) || errors.Is(cause, errRetired)) {
			err = cause
		}
	}()
	if w != nil {
		// The slowest batch of all its requests, once the connection
		// is done with.
		defer w.silence.ended(s)
	}
	for n := 0; ; n++ {
		size := pieces.first()
		if n > 0 {
			size = pieces.next()
		}
		r, ok := s.askPiece(size)
		if !ok {
			return nil
		}
		began := f.clock().Now()
		kept, err := f.request(attemptCtx, s, w, opener, r, n == 0)
		if err != nil || !kept || f.Pieces == nil || s.Done() {
			return err
		}
		pieces.measured(s.Next()-r.Start, clock.Since(f.clock(), began))
	}
}

// request asks for r of s over opener and copies the answer, the
// attempt's first when first is set. It reports whether the answer was
// read to its end, so that its connection can carry the next request.
func (f *Fetcher) request(ctx context.Context, s *Segment, w *worker, opener Opener, r byterange.Range, first bool) (kept bool, err error) {
	body, err := opener.OpenRange(ctx, r)
	if err != nil {
		return false, err
	}
	defer body.Close()
	if w != nil && first {
		w.silence.answered(s, f.clock().Now())
	}
	in := &reading{body: body, received: &s.received, slowest: &s.slowestBatch, w: w}
	// What is still wanted of this request: its range, as far as the
	// segment still owns it.
	want := func() int64 { return min(s.End(), r.End) - s.Next() }
	err = f.copyBody(ctx, in, want, func(p []byte) (bool, error) {
		// Claim the bytes only now that they are here, so that while a
		// read waits on the network the range can still be cut short
		// (a steal, a hedge); what lies beyond a new End is dropped.
		keep := s.reserve(int64(len(p)))
		if keep > 0 {
			if _, err := f.Output.WriteAt(p[:keep], s.Next()); err != nil {
				s.commit(0)
				return false, &WriteError{Err: err}
			}
			f.wrote(w, keep)
		}
		s.commit(keep)
		// End moved below what arrived: the rest is another range's.
		return keep < int64(len(p)), nil
	}, func() error {
		return fmt.Errorf("connection closed at byte %d of range %v: %w", s.Next(), r, io.ErrUnexpectedEOF)
	})
	if err != nil {
		return false, err
	}
	// Read the answer to its end, so that its connection is kept for
	// the next request: all of it was used, or a steal took a few bytes
	// of it that are cheaper to read than a new connection.
	if r.End-s.Next() <= maxDrain {
		return finishBody(body), nil
	}
	return false, nil
}

// finishBody reads what is left of a body, up to maxDrain, and reports
// whether it got to its end: an HTTP connection goes back to the pool for
// the next request only once its body was read to its end before it is
// closed.
func finishBody(body io.Reader) bool {
	_, err := io.CopyN(io.Discard, body, maxDrain+1)
	return err == io.EOF
}

// maxDrain bounds the bytes read and dropped to keep a connection.
const maxDrain = 64 << 10

// reading is one response body being read, and where its arrivals are
// counted: the segment's (or hedge's) counter that the stall watch and
// the rate measurements read, the longest batch for the silence watch
// (nil for a hedge), and the worker's crew.
type reading struct {
	body     io.Reader
	received *atomic.Int64
	slowest  *atomic.Int64
	w        *worker
}

// copyBody is the one read loop of netfox, for a segment's attempt and a
// hedge alike, so that every rule of reading applies to both: it reads
// the body in batches (gather) while want says bytes are still wanted,
// counts every byte as it arrives, hands each batch to keep (which writes
// what it can use, and says when no more is wanted), and holds the next
// read back to the rate limit. It returns nil once nothing more is
// wanted, cut's error when the body ends before that, and else the first
// error of reading, keeping or waiting.
func (f *Fetcher) copyBody(ctx context.Context, in *reading, want func() int64, keep func(p []byte) (done bool, err error), cut func() error) error {
	pool := f.buffers()
	bp, _ := pool.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, bufSize)
		bp = &b
	}
	defer pool.Put(bp)
	buf := *bp
	// Read no more at once than the limiters let through at once.
	buf = buf[:min(len(buf), burstOf(f.Limits))]
	c := f.clock()
	last := c.Now()
	for {
		left := want()
		if left <= 0 {
			return nil
		}
		n, readErr := gather(c, in.body, buf[:min(int64(len(buf)), left)], in.received)
		if in.w != nil {
			in.w.crew.received.Add(int64(n))
		}
		if readErr == nil && in.slowest != nil {
			// A whole batch: how long it took is what the silence watch
			// compares other connections' silences with.
			// At least 1ns: a batch measured, however fast (a coarse or
			// fake clock reads 0), is not "none measured" (0).
			now := c.Now()
			if took := max(int64(now.Sub(last)), 1); took > in.slowest.Load() {
				in.slowest.Store(took)
			}
			last = now
		}
		done, err := keep(buf[:n])
		if n > 0 {
			if err != nil || done {
				// The bytes came over the network all the same, wanted
				// or not: charge them without waiting, and the next
				// reads pay for them. (The limiters keep to the wall
				// clock.)
				charge(f.Limits, n)
			} else if err := waitRate(ctx, f.Limits, n); err != nil {
				// Waiting after the read holds the next one back, and
				// TCP's window slows the sender to match.
				return err
			}
		}
		if err != nil || done {
			return err
		}
		switch {
		case readErr == io.EOF:
			if want() <= 0 {
				return nil
			}
			return cut()
		case readErr != nil:
			return readErr
		}
	}
}

// wrote counts n bytes written from the worker's source: the one place
// where the total (Fetched) and each mirror's share (Mirror.Written) are
// counted, so that the shares add up to the total.
func (f *Fetcher) wrote(w *worker, n int64) {
	if f.Fetched != nil {
		f.Fetched.Add(n)
	}
	if w != nil && w.mirror != nil {
		w.mirror.written.Add(n)
	}
}

// waitRate waits until every limit lets n more bytes through, in steps
// of at most its burst (which may have shrunk since the read was sized).
// A limiter refuses at once a wait that would end after ctx's deadline;
// the download cannot go on past that deadline anyway, so that refusal is
// the deadline's error, not a failure to retry.
func waitRate(ctx context.Context, limits []*Limit, n int) error {
	for _, lim := range limits {
		l := lim.active()
		for left := n; left > 0 && l != nil; {
			step := min(left, max(l.Burst(), 1))
			if err := l.WaitN(ctx, step); err != nil {
				if ctx.Err() != nil {
					return err
				}
				if _, ok := ctx.Deadline(); ok {
					return fmt.Errorf("%w: the rate limit lets the next bytes through only after it", context.DeadlineExceeded)
				}
				return err
			}
			left -= step
		}
	}
	return nil
}

// charge counts n bytes against every limit without waiting: the next
// reads pay for them.
func charge(limits []*Limit, n int) {
	now := time.Now()
	for _, lim := range limits {
		l := lim.active()
		for left := n; left > 0 && l != nil; {
			step := min(left, max(l.Burst(), 1))
			l.ReserveN(now, step)
			left -= step
		}
	}
}

// burstOf is the most bytes all the limits let through at once; a large
// number when none caps.
func burstOf(limits []*Limit) int {
	most := math.MaxInt
	for _, lim := range limits {
		if l := lim.active(); l != nil {
			most = min(most, max(l.Burst(), 1))
		}
	}
	return most
}

// watchStall cuts the attempt (through cancel) when received grows by
// less than StallSpeed x StallWindow within a StallWindow. It returns a
// function that stops watching.
func (f *Fetcher) watchStall(received *atomic.Int64, cancel context.CancelCauseFunc) (stop func()) {
	speed, window := f.stallRule()
	if window <= 0 {
		return func() {}
	}
	floor := max(int64(float64(speed)*window.Seconds()), 1)
	done := make(chan struct{})
	// The first window starts now, with the attempt, not whenever the
	// goroutine gets to run.
	tick := f.clock().NewTicker(window)
	last := received.Load()
	go func() {
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C():
				now := received.Load()
				if now-last < floor {
					cancel(fmt.Errorf("%w: %d bytes in %v, below %d bytes/s", ErrStalled, now-last, window, speed))
					return
				}
				last = now
			}
		}
	}()
	return func() { close(done) }
}
