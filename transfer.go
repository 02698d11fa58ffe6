package netfox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/netfox/netfox/internal/engine"
	"github.com/netfox/netfox/segment"
)

// Transfer is a download running on a Client, started by Client.Start: a
// program pauses it, resumes it, changes its rate and reads its state
// while it runs, and waits for its end. Its methods are safe for
// concurrent use.
//
// A Transfer is running, paused or ended. Pause stops its connections and
// keeps the .part and .info files, as an interrupted download does;
// Resume goes on from them, after checking again that the remote file is
// the one they hold (a file that changed meanwhile starts over, as a new
// run would). It ends when the file is complete, when it fails, or when
// Cancel or the context given to Start ends it.
type Transfer struct {
	client   *Client
	req      Request // normalised (Request.Normalized)
	ctx      context.Context
	limit    *segment.Limit   // the transfer's own cap
	progress *engine.Progress // the live state, across runs
	began    time.Time
	stopCtx  func() bool // stops watching ctx

	mu      sync.Mutex
	state   transferState
	stopRun context.CancelCauseFunc // ends the current run
	runDone chan struct{}           // closed when the current run returned
	sum     Result                  // the runs before the current one, added up
	err     error
	done    chan struct{}
	// reported is closed after the last OnProgress call.
	reported chan struct{}
}

type transferState int

const (
	running transferState = iota
	paused
	ended
)

// errPaused is the cause a paused run's context is cancelled with.
var errPaused = errors.New("paused")

// Start starts req on c and returns at once, with a handle to the running
// download; Wait returns its Result. req is checked first: a request that
// cannot run returns an error wrapping ErrUsage and no Transfer. When ctx
// ends, the download ends, running or paused, keeping its partial file;
// Wait's error then wraps ctx's (context.Canceled, DeadlineExceeded).
func (c *Client) Start(ctx context.Context, req Request) (*Transfer, error) {
	if err := clientRequest(req); err != nil {
		return nil, err
	}
	return c.start(ctx, req)
}

func (c *Client) start(ctx context.Context, req Request) (*Transfer, error) {
	req, err := req.Normalized()
	if err != nil {
		return nil, err
	}
	limit := segment.NewLimit(req.LimitRate)
	t := &Transfer{
		client:   c,
		req:      req,
		ctx:      ctx,
		limit:    limit,
		progress: new(engine.Progress),
		began:    time.Now(),
		done:     make(chan struct{}),
		reported: make(chan struct{}),
	}
	stopReport := reportProgress(req, t.progress)
	go func() {
		<-t.done
		stopReport()
		close(t.reported)
	}()
	t.run(t.req)
	t.stopCtx = context.AfterFunc(ctx, t.ctxDone)
	return t, nil
}

// run starts one run of req; the caller holds t.mu or owns t alone.
func (t *Transfer) run(req Request) {
	d := engine.New(t.client.env(req, t.limit), req.job(t.progress))
	ctx, stop := context.WithCancelCause(t.ctx)
	t.state, t.stopRun, t.runDone = running, stop, make(chan struct{})
	runDone := t.runDone
	go func() {
		defer close(runDone)
		res, err := d.Run(ctx)
		pausedNow := err != nil && errors.Is(context.Cause(ctx), errPaused) && t.ctx.Err() == nil
		err = endError(ctx, err) // before stop, which ends ctx
		stop(nil)
		t.mu.Lock()
		defer t.mu.Unlock()
		t.sum = addRuns(t.sum, resultOf(res))
		if pausedNow {
			t.state = paused
			return
		}
		t.end(err)
	}()
}

// addRuns is the Result of a transfer after one more run: the last run's
// facts, with the bytes fetched and the retries of all the runs.
func addRuns(before, last Result) Result {
	last.Fetched += before.Fetched
	last.Retries += before.Retries
	return last
}

// end makes t ended with err; the caller holds t.mu.
func (t *Transfer) end(err error) {
	if t.state == ended {
		return
	}
	t.state, t.err = ended, err
	t.sum.Elapsed = time.Since(t.began)
	close(t.done)
}

// Pause stops the download and returns once its connections are closed
// and its .part and .info saved: no byte arrives until Resume. Pausing a
// paused transfer does nothing; a transfer that has ended returns an
// error wrapping ErrEnded.
func (t *Transfer) Pause() error {
	t.mu.Lock()
	switch t.state {
	case paused:
		t.mu.Unlock()
		return nil
	case ended:
		t.mu.Unlock()
		return fmt.Errorf("%w: it cannot be paused", ErrEnded)
	}
	t.stopRun(errPaused)
	runDone := t.runDone
	t.mu.Unlock()
	<-runDone
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state == ended {
		// It ended before the pause took: complete, failed or cancelled.
		return fmt.Errorf("%w before it was paused", ErrEnded)
	}
	return nil
}

// Resume goes on with a paused download from its .part and .info.
// Resuming a running transfer does nothing; a transfer that has ended
// returns an error wrapping ErrEnded.
func (t *Transfer) Resume() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch t.state {
	case running:
		return nil
	case ended:
		return fmt.Errorf("%w: it cannot be resumed", ErrEnded)
	}
	// The same request goes on from what the paused run saved: never
	// discarding it, and with no partial file of another program's to
	// take over.
	req := t.req
	req.Restart, req.Continue = false, false
	t.run(req)
	return nil
}

// Cancel ends the download, keeping its .part and .info for a later
// download of the same file to resume; Wait then returns an error
// wrapping context.Canceled. Cancelling an ended transfer does nothing.
func (t *Transfer) Cancel() {
	t.mu.Lock()
	switch t.state {
	case running:
		t.stopRun(context.Canceled)
		runDone := t.runDone
		t.mu.Unlock()
		<-runDone
		t.mu.Lock()
		t.end(fmt.Errorf("%w: the download was cancelled; its partial file is kept", context.Canceled)) // if the run did not end it first
	case paused:
		t.end(fmt.Errorf("%w: the download was cancelled while paused; its partial file is kept", context.Canceled))
	}
	t.mu.Unlock()
}

// ctxDone ends a paused transfer when the context given to Start ends; a
// running one ends by itself then, its run's context being a child of it,
// with the context's own error (a deadline stays a deadline).
func (t *Transfer) ctxDone() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state == paused {
		t.end(fmt.Errorf("%w: the download ended while paused; its partial file is kept", t.ctx.Err()))
	}
}

// SetLimitRate caps this download at bytesPerSec from now on; zero or
// less removes its own cap (the Client's still applies). A paused
// transfer keeps the cap for when it resumes.
func (t *Transfer) SetLimitRate(bytesPerSec int64) { t.limit.Set(bytesPerSec) }

// Snapshot returns the download's state now: while paused, its bytes as
// they stood, with no rate and no ETA.
func (t *Transfer) Snapshot() Snapshot {
	s := snapshotOf(t.progress.Snapshot())
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state != running {
		s.Rate, s.ETA, s.Connections = 0, -1, 0
	}
	return s
}

// Wait waits for the download to end and returns its Result, which is
// filled on every end (failure and cancellation included: what was
// fetched and kept), and nil or the error that ended it.
func (t *Transfer) Wait() (Result, error) {
	<-t.reported
	t.stopCtx()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sum, t.err
}

// Done is closed when the download has ended.
func (t *Transfer) Done() <-chan struct{} { return t.done }

// SetLimitRate caps all the downloads of c together at bytesPerSec from
// now on, the running ones included; zero or less removes the cap.
func (c *Client) SetLimitRate(bytesPerSec int64) { c.limiter.Set(bytesPerSec) }
