package daemon

import (
	"context"
	"sync"

	"github.com/netfox/netfox"
)

// engine is the daemon's only contact with the netfox library: everything
// the queue does to a download goes through it, so that the library's
// transfer handles (Client.Start returning a *Transfer with Pause, Resume,
// Cancel, Snapshot, SetLimitRate, Wait and Done) can replace it in this one
// file when they exist. Until then it is built on the current public API:
// a run is one Client.Download under its own context; pausing cancels that
// context (the .part and .info stay, and netfox resumes from them), and
// unpausing starts the same Request again.
type engine struct {
	mu     sync.Mutex
	opts   netfox.ClientOptions
	client *netfox.Client
	old    []*netfox.Client // replaced clients, closed with the engine
}

func newEngine(opts netfox.ClientOptions) *engine {
	return &engine{opts: opts, client: netfox.NewClient(opts)}
}

// setLimitRate changes the cap shared by all downloads. The library's
// Client fixes it at creation, so the downloads started from now on share
// a new Client with the new cap; the running ones keep the old one until
// they are restarted.
func (e *engine) setLimitRate(bytesPerSecond int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.opts.LimitRate == bytesPerSecond {
		return
	}
	e.opts.LimitRate = bytesPerSecond
	e.old = append(e.old, e.client)
	e.client = netfox.NewClient(e.opts)
}

func (e *engine) limitRate() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.opts.LimitRate
}

// close closes the clients; call it after every run has ended.
func (e *engine) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.old {
		_ = c.Close()
	}
	_ = e.client.Close()
}

// run is one running download: the shape of the library's future
// Transfer, reduced to what the queue uses.
type run struct {
	cancel   context.CancelFunc
	transfer *netfox.Transfer // nil when it could not start
	done     chan struct{}    // closed when Download has returned
	result   netfox.Result
	err      error
}

// start begins req in the background. parent ends it too (a shutdown).
func (e *engine) start(parent context.Context, req netfox.Request) *run {
	e.mu.Lock()
	client := e.client
	e.mu.Unlock()
	ctx, cancel := context.WithCancel(parent)
	r := &run{cancel: cancel, done: make(chan struct{})}
	t, err := client.Start(ctx, req)
	r.transfer = t
	go func() {
		defer close(r.done)
		defer cancel()
		if err != nil {
			r.err = err
			return
		}
		r.result, r.err = t.Wait()
	}()
	return r
}

// stop asks the download to end (its state saved for a resume); wait for
// done to know it has.
func (r *run) stop() { r.cancel() }

// snapshot is the download's state now.
func (r *run) snapshot() netfox.Snapshot {
	if r.transfer == nil {
		return netfox.Snapshot{Length: -1, ETA: -1}
	}
	return r.transfer.Snapshot()
}
