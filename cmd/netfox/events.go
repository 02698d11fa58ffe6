package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/netfox/netfox"
)

// emitter writes JSON lines, one event each, safe for concurrent use.
type emitter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newEmitter(w io.Writer) *emitter { return &emitter{enc: json.NewEncoder(w)} }

// emit writes one event: fields plus "event" and "time".
func (e *emitter) emit(event string, fields map[string]any) {
	fields["event"] = event
	fields["time"] = time.Now().UTC().Format(time.RFC3339Nano)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.enc.Encode(fields)
}

type segmentJSON struct {
	ID    int   `json:"id"`
	Start int64 `json:"start"`
	Next  int64 `json:"next"`
	End   int64 `json:"end"`
}

// gate holds one download's events back until its start event, so that
// start is always first.
type gate struct {
	e       *emitter
	mu      sync.Mutex
	started bool
	held    []heldEvent
}

type heldEvent struct {
	event  string
	fields map[string]any
}

func (g *gate) emit(event string, fields map[string]any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.started {
		g.held = append(g.held, heldEvent{event, fields})
		return
	}
	g.e.emit(event, fields)
}

// start emits start and then the events held back; later calls do
// nothing.
func (g *gate) start(fields map[string]any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.started {
		return
	}
	g.started = true
	g.e.emit("start", fields)
	for _, h := range g.held {
		g.e.emit(h.event, h.fields)
	}
	g.held = nil
}

// jsonEvent is the --json line of a library event: a segment's retry is
// a "retry" line, another notice a "notice" line, the scheduler's work
// (steals, hedges, cuts, replaced connections, -n auto's steps) a
// "scheduler" line; each with its kind's name and facts.
func jsonEvent(url string, e netfox.Event) (string, map[string]any) {
	switch {
	case e.Kind == netfox.EventRetry && e.Offset >= 0:
		return "retry", map[string]any{"url": url, "offset": e.Offset, "cause": message(e.Err), "wait_ms": e.Wait.Milliseconds()}
	case e.Kind.Notice():
		return "notice", map[string]any{"url": url, "kind": e.Kind.String(), "message": printable(e.Text)}
	}
	fields := map[string]any{"url": url, "kind": e.Kind.String(), "message": printable(e.Text)}
	if e.Length > 0 {
		fields["offset"], fields["length"] = e.Offset, e.Length
	}
	if e.Connections > 0 {
		fields["connections"] = e.Connections
	}
	if e.Rate > 0 {
		fields["rate"] = e.Rate
	}
	if e.URL != "" {
		fields["source"] = printable(e.URL)
	}
	return "scheduler", fields
}

// showEvent is how the plain view shows a download's events: a
// segment's retry through retry (counted, and shown as the view does),
// the other notices as lines through notify; the scheduler's work is
// not shown.
func showEvent(notify func(string), retry func(offset int64, cause error, wait time.Duration)) func(netfox.Event) {
	return func(e netfox.Event) {
		switch {
		case e.Kind == netfox.EventRetry && e.Offset >= 0:
			retry(e.Offset, errors.New(message(e.Err)), e.Wait)
		case e.Kind.Notice():
			notify(printable(e.Text))
		}
	}
}

// watch makes req report to e, and returns a function to call with the
// outcome, which emits done, error or interrupted.
func (e *emitter) watch(req *netfox.Request) (func(netfox.Result, error), *live) {
	url := printable(req.URL)
	progress := watchLive(req)
	g := &gate{e: e}
	req.OnEvent = func(e netfox.Event) { g.emit(jsonEvent(url, e)) }
	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		g.follow(url, progress, stop)
	}()
	return func(res netfox.Result, err error) {
		close(stop)
		<-stopped
		// The download may have ended (or failed) before follow saw it
		// begin: start now, with what is known.
		snap := progress.Snapshot()
		path, length := snap.Path, snap.Length
		if path == "" {
			path, length = res.Path, res.Size
		}
		start := map[string]any{"url": url, "segments": segmentsJSON(snap)}
		if path != "" {
			start["path"], start["length"] = printable(path), length
		}
		g.start(start)
		switch {
		case errors.Is(err, context.Canceled):
			// A signal: not a failure, and resumable when the server
			// allows.
			snap := progress.Snapshot()
			g.emit("interrupted", map[string]any{"url": url, "message": message(err), "exit_code": exitCode(err),
				"written": snap.Written, "resumable": errors.Is(err, netfox.ErrResumable)})
			return
		case err != nil:
			g.emit("error", map[string]any{"url": url, "message": message(err), "exit_code": exitCode(err)})
			return
		}
		done := map[string]any{"url": url, "path": printable(res.Path), "size": res.Size, "seconds": res.Elapsed.Seconds(),
			"fetched": res.Fetched, "resumed": res.Resumed, "connections": res.Connections, "retries": res.Retries,
			"reconnects": res.Reconnects, "silent": res.Silent,
			"already_complete": res.AlreadyComplete,
			"parallel":         res.Parallel, "parallel_reason": res.ParallelReason}
		if res.ParallelSteps != nil {
			steps := make([]map[string]any, len(res.ParallelSteps))
			for i, s := range res.ParallelSteps {
				steps[i] = map[string]any{"at_ms": s.At.Milliseconds(), "connections": s.Connections, "rate": s.Rate, "source": s.Source}
			}
			done["parallel_steps"] = steps
		}
		if len(res.Sources) > 1 {
			sources := make([]map[string]any, len(res.Sources))
			for i, s := range res.Sources {
				src := map[string]any{"url": printable(s.URL), "fetched": s.Fetched}
				if s.Dropped != "" {
					src["dropped"] = printable(s.Dropped)
				}
				if s.ParallelReason != "" {
					src["parallel"], src["parallel_reason"] = s.Parallel, s.ParallelReason
				}
				sources[i] = src
			}
			done["sources"] = sources
		}
		if sum, err := fileSHA256(res.Path); err == nil {
			done["sha256"] = sum
		}
		g.emit("done", done)
	}, progress
}

func segmentsJSON(snap netfox.Snapshot) []segmentJSON {
	segs := make([]segmentJSON, len(snap.Segments))
	for i, s := range snap.Segments {
		segs[i] = segmentJSON{ID: s.ID, Start: s.Start, Next: s.Next, End: s.End}
	}
	return segs
}

// follow emits start once the plan is known, split for each segment cut
// off another, and progress every second, until stop.
func (g *gate) follow(url string, progress *live, stop <-chan struct{}) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	known := map[int]bool{}
	started := false
	var lastProgress time.Time
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			snap := progress.Snapshot()
			if snap.Path == "" {
				continue
			}
			segs := segmentsJSON(snap)
			if !started {
				started, lastProgress = true, now
				for _, s := range snap.Segments {
					known[s.ID] = true
				}
				g.start(map[string]any{"url": url, "path": printable(snap.Path), "length": snap.Length, "segments": segs})
				continue
			}
			for _, s := range segs {
				if !known[s.ID] {
					known[s.ID] = true
					g.emit("split", map[string]any{"url": url, "segment": s})
				}
			}
			if now.Sub(lastProgress) >= time.Second {
				lastProgress = now
				// rate: bytes per second over the last few seconds (as the
				// plain progress line); eta: seconds left at that rate, -1
				// when unknown (no length, nothing arriving).
				eta := -1.0
				if snap.ETA >= 0 {
					eta = snap.ETA.Seconds()
				}
				g.emit("progress", map[string]any{"url": url, "written": snap.Written, "length": snap.Length, "fetched": snap.Fetched,
					"rate": snap.Rate, "eta": eta, "segments": segs})
			}
		}
	}
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// runJSON downloads req reporting JSON events on stdout instead of bars.
func runJSON(c *cli.Context, req netfox.Request) error {
	finish, _ := newEmitter(os.Stdout).watch(&req)
	res, err := download(c, req)
	finish(res, err)
	return err
}
