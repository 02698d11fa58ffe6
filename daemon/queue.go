// Package daemon is netfox's download queue driven by aria2's JSON-RPC
// (package aria2rpc): downloads identified by aria2's gids (16 hex
// digits), in aria2's states (active, waiting, paused, error, complete,
// removed), at most MaxConcurrent at once, in an order clients change with
// changePosition, persisted in an SQLite database so that a restart, even
// after a kill -9, resumes the same downloads under the same gids.
//
// It is a client of the netfox library's public API: each download is a
// *netfox.Transfer (Client.Start), paused and resumed through its handle;
// engine.go holds the Clients. It has no engine of its own.
package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/netfox/netfox"
)

// The states of a download, as aria2 names them.
const (
	statusActive   = "active"
	statusWaiting  = "waiting"
	statusPaused   = "paused"
	statusError    = "error"
	statusComplete = "complete"
	statusRemoved  = "removed"
)

// Events a Queue reports through Options.Notify, named as aria2's
// notifications.
const (
	EventStart    = "aria2.onDownloadStart"
	EventPause    = "aria2.onDownloadPause"
	EventStop     = "aria2.onDownloadStop"
	EventComplete = "aria2.onDownloadComplete"
	EventError    = "aria2.onDownloadError"
)

// DefaultMaxConcurrent is aria2's max-concurrent-downloads default.
const DefaultMaxConcurrent = 5

// maxStopped is how many stopped results are kept, aria2's
// max-download-result default; the oldest go first.
const maxStopped = 1000

// ErrNotFound indicates that no download has the gid asked about.
var ErrNotFound = errors.New("GID is not found")

// ErrState indicates that a download is not in a state the call applies to.
var ErrState = errors.New("not in a state for this")

// Options configure a Queue.
type Options struct {
	Config
	// MaxConcurrent is how many downloads run at once; zero means
	// DefaultMaxConcurrent.
	MaxConcurrent int
	// StatePath is the SQLite database holding the queue; empty keeps it
	// in memory only (tests).
	StatePath string
	// Client configures the library's Client the downloads share
	// (LimitRate is max-overall-download-limit).
	Client netfox.ClientOptions
	// Defaults are the global aria2 options every download starts from
	// (split, user-agent, max-download-limit, ...).
	Defaults map[string]string
	// Notify, when set, is told of each event (EventStart, ...) and gid.
	// It is called without the Queue's lock held.
	Notify func(event, gid string)
	// Log, when set, receives one line per event.
	Log func(line string)
}

// item is one download.
type item struct {
	gid     string
	status  string
	uris    []string
	opts    downloadOptions
	path    string // the output file, once known
	dir     string
	length  int64
	done    int64 // completed bytes when not running
	errCode int
	errMsg  string
	order   int64         // when it stopped, for tellStopped's order
	pos     int64         // its place in the queue as stored (active, then waiting)
	spans   []netfox.Span // the segments when its last transfer ended, for the bitfield

	// tr is its transfer: running while active, paused while paused or
	// waiting after a pause (unpausing resumes it); nil before it first
	// runs, after it ended, and after a restart of the daemon.
	tr      *netfox.Transfer
	stopAs  string        // why tr is being ended: "" its own end, statusRemoved, "restart", "shutdown"
	settled chan struct{} // closed once the end of tr has been handled
}

// Queue holds the downloads and runs them. Its methods are safe for
// concurrent use.
type Queue struct {
	opts   Options
	eng    *engine
	store  *store
	ctx    context.Context
	cancel context.CancelFunc

	mu            sync.Mutex
	items         map[string]*item
	active        []*item
	waiting       []*item // waiting and paused, in queue order
	stopped       []*item // oldest first
	stopSeq       int64
	posSeq        int64 // the next stored position at the end of the queue
	maxConcurrent int
	globals       downloadOptions
	closed        bool
	events        []event // to send once the lock is released
	wg            sync.WaitGroup
}

// event is a notification (name and gid) or a log line (line), kept
// while the lock is held and sent after it is released, so that a slow
// WebSocket client or a stderr nobody reads cannot stop the queue.
type event struct{ name, gid, line string }

// Open opens the queue, loading the downloads of StatePath: those that
// were active resume first, in their order, under their gids.
func Open(opts Options) (*Queue, error) {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	if opts.Connections == 0 {
		opts.Connections = netfox.DefaultConnections
	}
	ctx, cancel := context.WithCancel(context.Background())
	q := &Queue{
		opts:          opts,
		ctx:           ctx,
		cancel:        cancel,
		items:         make(map[string]*item),
		maxConcurrent: opts.MaxConcurrent,
		globals:       maps.Clone(downloadOptions(opts.Defaults)),
	}
	if q.globals == nil {
		q.globals = downloadOptions{}
	}
	if opts.StatePath != "" {
		st, err := openStore(opts.StatePath)
		if err != nil {
			cancel()
			return nil, err
		}
		q.store = st
		if err := q.load(); err != nil {
			cancel()
			_ = st.close()
			return nil, err
		}
	}
	q.eng = newEngine(opts.Client)
	q.mu.Lock()
	q.schedule()
	events := q.takeEvents()
	q.mu.Unlock()
	q.send(events)
	return q, nil
}

// load fills the queue from the store.
func (q *Queue) load() error {
	recs, err := q.store.load()
	if err != nil {
		return err
	}
	var wasActive, waiting, stopped []*item
	for _, r := range recs {
		it := r.item()
		q.items[it.gid] = it
		switch it.status {
		case statusActive:
			it.status = statusWaiting
			wasActive = append(wasActive, it)
		case statusWaiting, statusPaused:
			waiting = append(waiting, it)
		default:
			stopped = append(stopped, it)
		}
		q.stopSeq = max(q.stopSeq, it.order)
		q.posSeq = max(q.posSeq, it.pos+1)
	}
	// The records come in their order; the downloads that were running
	// go to the front.
	q.waiting = append(wasActive, waiting...)
	q.stopped = stopped
	return nil
}

// Close stops every running download (each saves its state for a resume
// and stays active in the database) and closes the database.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	var (
		running []*netfox.Transfer
		settle  []chan struct{}
	)
	for _, it := range q.active {
		it.stopAs = "shutdown"
		running = append(running, it.tr)
		settle = append(settle, it.settled)
	}
	for _, it := range q.waiting {
		q.dropLocked(it)
	}
	q.mu.Unlock()
	for _, tr := range running {
		tr.Cancel()
	}
	for _, ch := range settle {
		<-ch
	}
	q.cancel()
	q.wg.Wait()
	q.eng.close()
	if q.store != nil {
		return q.store.close()
	}
	return nil
}

// newGID returns a random gid no download has.
func (q *Queue) newGID() string {
	for {
		var b [8]byte
		_, _ = rand.Read(b[:])
		gid := hex.EncodeToString(b[:])
		if _, taken := q.items[gid]; !taken && gid != "0000000000000000" {
			return gid
		}
	}
}

// validGID reports whether s is a gid as aria2 writes them.
func validGID(s string) bool {
	if len(s) != 16 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// find returns the download with gid; aria2 also accepts a unique prefix.
func (q *Queue) find(gid string) (*item, error) {
	if it, ok := q.items[gid]; ok {
		return it, nil
	}
	var found *item
	if gid != "" && len(gid) < 16 {
		for g, it := range q.items {
			if len(g) >= len(gid) && g[:len(gid)] == gid {
				if found != nil {
					return nil, fmt.Errorf("%w: GID %s is ambiguous", ErrNotFound, gid)
				}
				found = it
			}
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: GID %s is not found", ErrNotFound, gid)
	}
	return found, nil
}

// Add queues a download of uris (mirrors of one file) with opts at
// position (-1: the end) and returns its gid.
func (q *Queue) Add(uris []string, opts map[string]string, position int) (string, error) {
	q.mu.Lock()
	defer func() { events := q.takeEvents(); q.mu.Unlock(); q.send(events) }()
	if q.closed {
		return "", errors.New("the daemon is shutting down")
	}
	merged := q.merged(opts)
	if _, err := buildRequest(q.opts.Config, uris, merged); err != nil {
		return "", err
	}
	paused, err := boolOption("pause", opts["pause"])
	if err != nil {
		return "", err
	}
	gid := opts["gid"]
	if gid != "" {
		if !validGID(gid) {
			return "", fmt.Errorf("%w: gid must be 16 hex digits, not %q", ErrOption, gid)
		}
		if _, taken := q.items[gid]; taken {
			return "", fmt.Errorf("%w: gid %s is in use", ErrOption, gid)
		}
	} else {
		gid = q.newGID()
	}
	stored := maps.Clone(downloadOptions(opts))
	delete(stored, "gid")
	delete(stored, "pause")
	it := &item{gid: gid, status: statusWaiting, uris: slices.Clone(uris), opts: stored, dir: dirOf(q.opts.Config, merged), length: 0}
	if paused {
		it.status = statusPaused
	}
	q.items[gid] = it
	if position < 0 || position >= len(q.waiting) {
		it.pos = q.posSeq
		q.posSeq++
		q.waiting = append(q.waiting, it)
		q.saveItem(it)
	} else {
		q.waiting = slices.Insert(q.waiting, position, it)
		q.saveItem(it)
		q.saveQueue()
	}
	q.logf("added %s: %s", gid, uris[0])
	q.schedule()
	return gid, nil
}

func dirOf(cfg Config, opts downloadOptions) string {
	dir, err := confinedDir(cfg, opts["dir"])
	if err != nil {
		return cfg.Dir
	}
	return dir
}

// merged is a download's options over the global ones.
func (q *Queue) merged(opts map[string]string) downloadOptions {
	m := maps.Clone(q.globals)
	maps.Copy(m, opts)
	return m
}

// schedule starts waiting downloads while there is room. Call with q.mu.
func (q *Queue) schedule() {
	for !q.closed && len(q.active) < q.maxConcurrent {
		i := slices.IndexFunc(q.waiting, func(it *item) bool { return it.status == statusWaiting })
		if i < 0 {
			return
		}
		it := q.waiting[i]
		q.waiting = slices.Delete(q.waiting, i, i+1)
		q.startLocked(it)
	}
}

// startLocked runs it: resumes its paused transfer, or starts one. Call
// with q.mu.
func (q *Queue) startLocked(it *item) {
	if it.tr != nil {
		if err := it.tr.Resume(); err == nil {
			it.status = statusActive
			q.active = append(q.active, it)
			q.saveItem(it)
			q.emit(EventStart, it.gid)
			q.logf("resumed %s", it.gid)
			return
		}
		// It ended meanwhile: start it again.
		q.dropLocked(it)
	}
	merged := q.merged(it.opts)
	req, err := buildRequest(q.opts.Config, it.uris, merged)
	if err != nil {
		q.stopLocked(it, statusError, err)
		return
	}
	proxy, err := proxyOption(merged)
	if err != nil {
		q.stopLocked(it, statusError, err)
		return
	}
	// As aria2 and netfox get -d, the directory is created when missing.
	dir := req.Dir
	if req.Output != "" {
		dir = filepath.Dir(req.Output)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		q.stopLocked(it, statusError, fmt.Errorf("%w: %w", netfox.ErrIO, err))
		return
	}
	gid := it.gid
	req.OnEvent = func(e netfox.Event) {
		if e.Kind.Notice() {
			q.logNow("%s: %s", gid, e.Text)
		}
	}
	tr, err := q.eng.start(q.ctx, req, proxy)
	if err != nil {
		q.stopLocked(it, statusError, err)
		return
	}
	it.tr = tr
	it.status = statusActive
	it.stopAs = ""
	it.settled = make(chan struct{})
	q.active = append(q.active, it)
	q.saveItem(it)
	q.emit(EventStart, it.gid)
	q.logf("started %s", it.gid)
	settled := it.settled
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		<-tr.Done()
		q.ended(it, tr)
		close(settled)
	}()
}

// dropLocked ends the paused transfer of it, if any, so that it starts afresh
// from its .part and .info next time (the end is not reported: the
// download goes on). Call with q.mu.
func (q *Queue) dropLocked(it *item) {
	if it.tr == nil || it.status == statusActive {
		return
	}
	tr := it.tr
	it.tr = nil
	tr.Cancel() // paused: no run to wait for
}

// ended handles the end of tr: its own (complete or error) or the one
// asked for (remove, restart, shutdown).
func (q *Queue) ended(it *item, tr *netfox.Transfer) {
	res, err := tr.Wait()
	snap := tr.Snapshot()
	q.mu.Lock()
	defer func() { events := q.takeEvents(); q.mu.Unlock(); q.send(events) }()
	if it.tr != tr {
		return // dropped
	}
	it.tr = nil
	q.active = slices.DeleteFunc(q.active, func(a *item) bool { return a == it })
	if res.Path != "" {
		it.path = res.Path
	} else if snap.Path != "" {
		it.path = snap.Path
	}
	if snap.Length > 0 {
		it.length = snap.Length
	}
	it.done = snap.Written
	it.spans = snap.Segments
	switch it.stopAs {
	case "shutdown":
		// Stays active in the database: the next start resumes it.
		return
	case "restart":
		it.status = statusWaiting
		q.waiting = slices.DeleteFunc(q.waiting, func(w *item) bool { return w == it })
		q.waiting = slices.Insert(q.waiting, 0, it)
		q.saveItem(it)
		q.saveQueue()
	case statusRemoved:
		q.stopLocked(it, statusRemoved, nil)
	default:
		if err == nil {
			it.length = res.Size
			it.done = res.Size
			q.stopLocked(it, statusComplete, nil)
		} else {
			q.stopLocked(it, statusError, err)
		}
	}
	q.schedule()
}

// stopLocked moves it to the stopped list as status. Call with q.mu.
func (q *Queue) stopLocked(it *item, status string, err error) {
	q.waiting = slices.DeleteFunc(q.waiting, func(w *item) bool { return w == it })
	it.status = status
	q.stopSeq++
	it.order = q.stopSeq
	switch status {
	case statusComplete:
		it.errCode, it.errMsg = codeFinished, ""
		q.emit(EventComplete, it.gid)
		q.logf("complete %s: %s", it.gid, it.path)
	case statusRemoved:
		it.errCode, it.errMsg = codeRemoved, "Removed"
		q.emit(EventStop, it.gid)
		q.logf("removed %s", it.gid)
	default:
		it.errCode, it.errMsg = errorCode(err)
		q.emit(EventError, it.gid)
		q.logf("error %s: code %d: %s", it.gid, it.errCode, it.errMsg)
	}
	q.stopped = append(q.stopped, it)
	q.saveItem(it)
	if len(q.stopped) > maxStopped {
		old := q.stopped[0]
		q.stopped = q.stopped[1:]
		delete(q.items, old.gid)
		q.deleteItems(old.gid)
	}
}

// endActive ends the transfer of the active download it as what
// (statusRemoved, "restart") and waits until that end has been handled.
// Call with q.mu; it is released and taken again.
func (q *Queue) endActive(it *item, as string) {
	it.stopAs = as
	tr, settled := it.tr, it.settled
	events := q.takeEvents()
	q.mu.Unlock()
	q.send(events)
	tr.Cancel()
	<-settled
	q.mu.Lock()
}

// Pause pauses gid: a running download stops (Transfer.Pause: its
// connections closed, its .part and .info kept) and goes to the front of
// the waiting queue as paused, its transfer kept for Unpause to resume; a
// waiting one stays in place.
func (q *Queue) Pause(gid string) error {
	q.mu.Lock()
	it, err := q.find(gid)
	if err != nil {
		q.mu.Unlock()
		return err
	}
	switch it.status {
	case statusActive:
		if it.stopAs != "" {
			break // being ended
		}
		tr := it.tr
		q.mu.Unlock()
		if err := tr.Pause(); err != nil {
			return nil // it ended first: that end is reported
		}
		q.mu.Lock()
		if it.tr == tr && it.status == statusActive && it.stopAs == "" {
			q.active = slices.DeleteFunc(q.active, func(a *item) bool { return a == it })
			snap := tr.Snapshot()
			if snap.Length > 0 {
				it.length = snap.Length
			}
			it.done, it.spans = snap.Written, snap.Segments
			if snap.Path != "" {
				it.path = snap.Path
			}
			it.status = statusPaused
			q.waiting = slices.Insert(q.waiting, 0, it)
			q.saveItem(it)
			q.saveQueue()
			q.emit(EventPause, it.gid)
			q.logf("paused %s", it.gid)
			q.schedule()
		}
	case statusWaiting:
		it.status = statusPaused
		q.saveItem(it)
		q.emit(EventPause, it.gid)
	case statusPaused:
	default:
		q.mu.Unlock()
		return fmt.Errorf("%w: GID#%s cannot be paused now", ErrState, it.gid)
	}
	events := q.takeEvents()
	q.mu.Unlock()
	q.send(events)
	return nil
}

// PauseAll pauses every active and waiting download.
func (q *Queue) PauseAll() {
	q.mu.Lock()
	var gids []string
	for _, it := range append(slices.Clone(q.active), q.waiting...) {
		gids = append(gids, it.gid)
	}
	q.mu.Unlock()
	for _, gid := range gids {
		_ = q.Pause(gid)
	}
}

// Unpause makes a paused download waiting again, in its place.
func (q *Queue) Unpause(gid string) error {
	q.mu.Lock()
	defer func() { events := q.takeEvents(); q.mu.Unlock(); q.send(events) }()
	it, err := q.find(gid)
	if err != nil {
		return err
	}
	if it.status != statusPaused {
		return fmt.Errorf("%w: GID#%s cannot be unpaused now", ErrState, it.gid)
	}
	it.status = statusWaiting
	q.saveItem(it)
	q.schedule()
	return nil
}

// UnpauseAll unpauses every paused download.
func (q *Queue) UnpauseAll() {
	q.mu.Lock()
	defer func() { events := q.takeEvents(); q.mu.Unlock(); q.send(events) }()
	for _, it := range q.waiting {
		if it.status == statusPaused {
			it.status = statusWaiting
			q.saveItem(it)
		}
	}
	q.schedule()
}

// Remove removes a download that has not stopped: a running one stops
// (its .part and .info stay) and becomes a removed result; a waiting or
// paused one is forgotten, as aria2c does.
func (q *Queue) Remove(gid string) error {
	q.mu.Lock()
	it, err := q.find(gid)
	if err != nil {
		q.mu.Unlock()
		return err
	}
	switch it.status {
	case statusActive:
		if it.stopAs == "" {
			q.endActive(it, statusRemoved)
		}
	case statusWaiting, statusPaused:
		// As aria2c: a download removed from the waiting queue leaves no
		// result.
		q.dropLocked(it)
		q.waiting = slices.DeleteFunc(q.waiting, func(w *item) bool { return w == it })
		delete(q.items, it.gid)
		q.deleteItems(it.gid)
		q.emit(EventStop, it.gid)
		q.logf("removed %s", it.gid)
	default:
		q.mu.Unlock()
		return fmt.Errorf("%w: Active Download not found for GID#%s", ErrState, it.gid)
	}
	events := q.takeEvents()
	q.mu.Unlock()
	q.send(events)
	return nil
}

// RemoveResult forgets a stopped download.
func (q *Queue) RemoveResult(gid string) error {
	q.mu.Lock()
	defer func() { events := q.takeEvents(); q.mu.Unlock(); q.send(events) }()
	it, err := q.find(gid)
	if err != nil {
		return err
	}
	if it.tr != nil || it.status == statusActive || it.status == statusWaiting || it.status == statusPaused {
		return fmt.Errorf("%w: Could not remove download result of GID#%s", ErrState, it.gid)
	}
	q.stopped = slices.DeleteFunc(q.stopped, func(s *item) bool { return s == it })
	delete(q.items, it.gid)
	q.deleteItems(it.gid)
	return nil
}

// Purge forgets every stopped download.
func (q *Queue) Purge() {
	q.mu.Lock()
	defer func() { events := q.takeEvents(); q.mu.Unlock(); q.send(events) }()
	gids := make([]string, 0, len(q.stopped))
	for _, it := range q.stopped {
		delete(q.items, it.gid)
		gids = append(gids, it.gid)
	}
	q.stopped = nil
	q.deleteItems(gids...)
}

// The how of ChangePosition, as aria2 names them.
const (
	PosSet = "POS_SET"
	PosCur = "POS_CUR"
	PosEnd = "POS_END"
)

// ChangePosition moves a waiting or paused download in the queue and
// returns its new position.
func (q *Queue) ChangePosition(gid string, pos int, how string) (int, error) {
	q.mu.Lock()
	defer func() { events := q.takeEvents(); q.mu.Unlock(); q.send(events) }()
	it, err := q.find(gid)
	if err != nil {
		return 0, err
	}
	cur := slices.Index(q.waiting, it)
	if cur < 0 {
		return 0, fmt.Errorf("%w: GID#%s not found in the waiting queue", ErrState, it.gid)
	}
	dest, err := newPosition(cur, len(q.waiting), pos, how)
	if err != nil {
		return 0, err
	}
	q.waiting = slices.Delete(q.waiting, cur, cur+1)
	q.waiting = slices.Insert(q.waiting, dest, it)
	q.saveQueue()
	return dest, nil
}

// newPosition is aria2's changePosition rule: the destination of the
// entry at cur in a queue of size entries, clamped to the queue.
func newPosition(cur, size, pos int, how string) (int, error) {
	var dest int
	switch how {
	case PosSet:
		dest = pos
	case PosCur:
		dest = cur + pos
	case PosEnd:
		dest = size - 1 + pos
	default:
		return 0, fmt.Errorf("%w: how must be POS_SET, POS_CUR or POS_END, not %q", ErrOption, how)
	}
	return max(0, min(dest, size-1)), nil
}

// pageRange is aria2's pagination of tellWaiting and tellStopped: the
// indexes [from, to) of size entries for offset and num, and whether the
// answer is in reverse (a negative offset counts from the end, and the
// entries come last first).
func pageRange(offset, num, size int) (from, to int, reverse bool) {
	if num <= 0 {
		return 0, 0, false
	}
	if offset < 0 {
		last := offset + size // the index offset points at
		if last < 0 {
			return 0, 0, true
		}
		from = last - (num - 1)
		if from < 0 {
			from = 0
		}
		return from, last + 1, true
	}
	if offset >= size {
		return 0, 0, false
	}
	return offset, min(size, offset+num), false
}

// SetMaxConcurrent changes max-concurrent-downloads; running downloads
// beyond it finish, as in aria2.
func (q *Queue) SetMaxConcurrent(n int) {
	q.mu.Lock()
	defer func() { events := q.takeEvents(); q.mu.Unlock(); q.send(events) }()
	q.maxConcurrent = n
	q.schedule()
}

// changeOptions changes a download's options. max-download-limit alone
// applies at once, through Transfer.SetLimitRate, as in aria2; any other
// change restarts a running download to take it (netfox resumes it from
// its .info), and a paused one starts afresh when unpaused.
func (q *Queue) changeOptions(gid string, opts map[string]string) error {
	q.mu.Lock()
	defer func() { events := q.takeEvents(); q.mu.Unlock(); q.send(events) }()
	it, err := q.find(gid)
	if err != nil {
		return err
	}
	if it.status != statusActive && it.status != statusWaiting && it.status != statusPaused {
		return fmt.Errorf("%w: GID#%s has stopped", ErrState, it.gid)
	}
	next := maps.Clone(it.opts)
	maps.Copy(next, opts)
	req, err := buildRequest(q.opts.Config, it.uris, q.merged(next))
	if err != nil {
		return err
	}
	restart := needsRestart(q.merged(it.opts), q.merged(next))
	it.opts = next
	it.dir = dirOf(q.opts.Config, q.merged(next))
	q.saveItem(it)
	switch {
	case it.tr == nil:
	case !restart:
		it.tr.SetLimitRate(req.LimitRate)
	case it.status != statusActive:
		q.dropLocked(it)
	case it.stopAs == "":
		q.endActive(it, "restart")
		q.schedule()
	}
	return nil
}

// ChangeURIs is aria2's changeUri on the one file (fileIndex 1) of gid:
// it deletes delURIs, then adds addURIs at position (-1: the end), and
// returns how many were deleted and added. A running download restarts
// to take its new mirrors (netfox resumes it from its .info).
func (q *Queue) ChangeURIs(gid string, fileIndex int, delURIs, addURIs []string, position int) (deleted, added int, err error) {
	q.mu.Lock()
	defer func() { events := q.takeEvents(); q.mu.Unlock(); q.send(events) }()
	it, err := q.find(gid)
	if err != nil {
		return 0, 0, err
	}
	if fileIndex != 1 {
		return 0, 0, fmt.Errorf("%w: Invalid file index: %d", ErrOption, fileIndex)
	}
	if it.status != statusActive && it.status != statusWaiting && it.status != statusPaused {
		return 0, 0, fmt.Errorf("%w: GID#%s has stopped", ErrState, it.gid)
	}
	uris, deleted, added := changeURIs(it.uris, delURIs, addURIs, position)
	if len(uris) == 0 {
		return 0, 0, fmt.Errorf("%w: GID#%s would be left without a URI", ErrOption, it.gid)
	}
	if deleted == 0 && added == 0 {
		return 0, 0, nil
	}
	if _, err := buildRequest(q.opts.Config, uris, q.merged(it.opts)); err != nil {
		return 0, 0, err
	}
	it.uris = uris
	q.saveItem(it)
	switch {
	case it.tr == nil:
	case it.status != statusActive:
		q.dropLocked(it)
	case it.stopAs == "":
		q.endActive(it, "restart")
		q.schedule()
	}
	return deleted, added, nil
}

// changeURIs is aria2's changeUri rule on a file's URIs: each URI of del
// removes one occurrence, then the URIs of add that are http(s) or ftp
// URLs go in at position (-1 or past the end: at the end). It returns the
// new list and how many were deleted and added.
func changeURIs(uris, del, add []string, position int) (out []string, deleted, added int) {
	out = slices.Clone(uris)
	for _, d := range del {
		if i := slices.Index(out, d); i >= 0 {
			out = slices.Delete(out, i, i+1)
			deleted++
		}
	}
	var valid []string
	for _, a := range add {
		if u, err := url.Parse(a); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "ftp") {
			valid = append(valid, a)
		}
	}
	if position < 0 || position > len(out) {
		position = len(out)
	}
	return slices.Insert(out, position, valid...), deleted, len(valid)
}

// liveOptions are the options a running download takes without a
// restart, as aria2's changeOption applies max-download-limit.
var liveOptions = map[string]bool{"max-download-limit": true}

// needsRestart reports whether a download whose options change from old to
// next must restart to take them: whether an option other than the live
// ones changed.
func needsRestart(old, next downloadOptions) bool {
	for k, v := range next {
		if !liveOptions[k] && old[k] != v {
			return true
		}
	}
	for k := range old {
		if _, ok := next[k]; !ok && !liveOptions[k] {
			return true
		}
	}
	return false
}

// emit records an event to send once the lock is released. Call with q.mu.
func (q *Queue) emit(name, gid string) { q.events = append(q.events, event{name: name, gid: gid}) }

func (q *Queue) takeEvents() []event {
	e := q.events
	q.events = nil
	return e
}

func (q *Queue) send(events []event) {
	for _, e := range events {
		switch {
		case e.line != "":
			if q.opts.Log != nil {
				q.opts.Log(e.line)
			}
		case q.opts.Notify != nil:
			q.opts.Notify(e.name, e.gid)
		}
	}
}

// logf records a log line to write once the lock is released. Call with q.mu.
func (q *Queue) logf(format string, args ...any) {
	q.events = append(q.events, event{line: logLine(format, args...)})
}

// logNow writes a log line at once. Call without q.mu.
func (q *Queue) logNow(format string, args ...any) {
	if q.opts.Log != nil {
		q.opts.Log(logLine(format, args...))
	}
}

func logLine(format string, args ...any) string {
	return time.Now().Format("2006-01-02 15:04:05") + " " + fmt.Sprintf(format, args...)
}

// saveItem writes it to the store. Call with q.mu. A failed write is
// logged: the download goes on and the next write of it retries.
func (q *Queue) saveItem(it *item) {
	if q.store == nil {
		return
	}
	if err := q.store.save(recordOf(it)); err != nil {
		q.logf("cannot save %s: %v", it.gid, err)
	}
}

// saveQueue writes the order of the active, waiting and stopped lists.
func (q *Queue) saveQueue() {
	order := make(map[string]int64, len(q.active)+len(q.waiting))
	n := int64(0)
	for _, it := range append(slices.Clone(q.active), q.waiting...) {
		it.pos = n
		order[it.gid] = n
		n++
	}
	q.posSeq = n
	if q.store == nil {
		return
	}
	if err := q.store.saveOrder(order); err != nil {
		q.logf("cannot save the queue's order: %v", err)
	}
}

func (q *Queue) deleteItems(gids ...string) {
	if q.store == nil || len(gids) == 0 {
		return
	}
	if err := q.store.delete(gids); err != nil {
		q.logf("cannot delete results: %v", err)
	}
}
