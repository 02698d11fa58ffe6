// Package ui shows running downloads on a terminal: by default one block
// per download (a status line and a segment map of the whole file), one
// line per active file in a batch, or with Bars a bar per active segment
// (github.com/vbauerster/mpb/v8). When the output is not a terminal it
// prints a plain progress line every few seconds.
package ui

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/units"
)

// Options configures a UI.
type Options struct {
	// Out is where the UI draws (stderr, normally).
	Out io.Writer
	// Terminal selects the redrawn view; otherwise a plain line every
	// PlainEvery.
	Terminal bool
	// Bars selects a bar per segment instead of the segment map.
	Bars bool
	// PlainEvery is the interval of plain progress lines; zero means 3s.
	PlainEvery time.Duration
	// MaxBars is the most segment bars drawn at once with Bars; the others
	// are counted on one line. Zero means 16.
	MaxBars int
	// Size returns the terminal's columns and rows, read again for every
	// frame so that a resize takes effect at once; nil or zeros mean
	// 80x24.
	Size func() (cols, rows int)
}

// frameEvery is the redraw interval of the terminal views.
const frameEvery = 150 * time.Millisecond

// UI shows downloads until Stop.
type UI struct {
	opts   Options
	cancel context.CancelFunc
	done   chan struct{}
	batch  bool

	mu    sync.Mutex // serialises notices with drawing; guards the fields below
	items []*Item
	drawn []int // the widths of the lines of the frame on screen
	bar   *mpb.Progress
}

// Item is one download on a UI.
type Item struct {
	item
	ui *UI
}

// Start begins showing one download.
func Start(prog *netfox.Progress, opts Options) *UI {
	u := newUI(opts, false)
	u.items = []*Item{{item: item{prog: prog, began: time.Now()}, ui: u}}
	u.run()
	return u
}

// StartBatch begins showing a batch: one line per file added with Add.
func StartBatch(opts Options) *UI {
	u := newUI(opts, true)
	u.run()
	return u
}

func newUI(opts Options, batch bool) *UI {
	if opts.PlainEvery <= 0 {
		opts.PlainEvery = 3 * time.Second
	}
	if opts.MaxBars <= 0 {
		opts.MaxBars = 16
	}
	return &UI{opts: opts, done: make(chan struct{}), batch: batch}
}

func (u *UI) run() {
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	switch {
	case u.opts.Terminal && u.opts.Bars && !u.batch:
		u.bar = mpb.New(mpb.WithOutput(u.opts.Out), mpb.WithWidth(72), mpb.WithRefreshRate(frameEvery))
		go u.bars(ctx, u.items[0].prog)
	case u.opts.Terminal:
		go u.view(ctx)
	case u.batch:
		close(u.done) // a batch prints its per-file lines only
	default:
		go u.plain(ctx, u.items[0].prog)
	}
}

// Add puts a download of a batch on the view, labelled label.
func (u *UI) Add(label string, prog *netfox.Progress) *Item {
	it := &Item{item: item{label: label, prog: prog, began: time.Now()}, ui: u}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.items = append(u.items, it)
	return it
}

// Remove takes the item off the view.
func (it *Item) Remove() {
	u := it.ui
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, x := range u.items {
		if x == it {
			u.items = append(u.items[:i:i], u.items[i+1:]...)
			break
		}
	}
	u.redrawLocked(time.Now())
}

// Retry counts a retry of the item's download: a counter on the terminal
// view, a line otherwise.
func (it *Item) Retry(offset int64, cause error, wait time.Duration) {
	it.retries.Add(1)
	if !it.ui.opts.Terminal || it.ui.opts.Bars {
		it.ui.Notify(fmt.Sprintf("retrying byte %d in %v: %v", offset, wait.Round(time.Millisecond), cause))
	}
}

// Retry is Item.Retry for the one download of Start.
func (u *UI) Retry(offset int64, cause error, wait time.Duration) {
	u.items[0].Retry(offset, cause, wait)
}

// Notify prints a one-line notice above the view.
func (u *UI) Notify(msg string) {
	line := "netfox: " + msg + "\n"
	if u.bar != nil {
		u.bar.Write([]byte(line))
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.opts.Terminal {
		io.WriteString(u.opts.Out, line)
		return
	}
	u.eraseLocked()
	io.WriteString(u.opts.Out, line)
	u.redrawLocked(time.Now())
}

// Stop stops drawing, after a last frame that shows the final state.
func (u *UI) Stop() {
	if u.cancel != nil {
		u.cancel()
	}
	<-u.done
}

func (u *UI) size() (cols, rows int) {
	if u.opts.Size != nil {
		cols, rows = u.opts.Size()
	}
	if cols <= 0 {
		cols = 80
	}
	if rows <= 0 {
		rows = 24
	}
	return cols, rows
}

// view redraws the block every frame until ctx ends.
func (u *UI) view(ctx context.Context) {
	defer close(u.done)
	tick := time.NewTicker(frameEvery)
	defer tick.Stop()
	for {
		select {
		case now := <-tick.C:
			u.mu.Lock()
			u.redrawLocked(now)
			u.mu.Unlock()
		case <-ctx.Done():
			u.mu.Lock()
			u.redrawLocked(time.Now())
			u.drawn = nil // the last frame stays
			u.mu.Unlock()
			return
		}
	}
}

// frameLocked is the block to draw: for one download its status line and
// segment map; for a batch a status line per active file.
func (u *UI) frameLocked(now time.Time, cols, rows int) []string {
	var lines []string
	for _, it := range u.items {
		snap := it.sample(now)
		if snap.Path == "" {
			continue
		}
		lines = append(lines, it.status(snap, now))
		if !u.batch {
			if m := segmentMap(snap, min(cols-3, 100)); m != "" {
				lines = append(lines, "["+m+"]")
			}
		}
	}
	if max(rows-1, 1) < len(lines) {
		n := len(lines) - (rows - 2)
		lines = append(lines[:max(rows-2, 0)], fmt.Sprintf("+%d more", n))
	}
	return lines
}

// eraseLocked removes the frame on screen and leaves the cursor where it
// began. The terminal may have been resized since: a line wider than the
// terminal now takes several rows (terminals rewrap on resize), which
// the count of rows to go up takes into account.
func (u *UI) eraseLocked() {
	if len(u.drawn) == 0 {
		return
	}
	cols, _ := u.size()
	io.WriteString(u.opts.Out, u.upLocked(cols)+"\r\x1b[J")
	u.drawn = nil
}

// upLocked is the escape that moves the cursor up to the first row of the
// frame on screen, were the terminal cols wide.
func (u *UI) upLocked(cols int) string {
	rows := 0
	for _, w := range u.drawn {
		rows += max(1, (w+cols-1)/cols)
	}
	if rows == 0 {
		return "" // "\x1b[0A" moves up one row on some terminals
	}
	return fmt.Sprintf("\x1b[%dA", rows)
}

// redrawLocked replaces the frame on screen with the current one, each
// line cut to the terminal's width less one, so that none wraps.
func (u *UI) redrawLocked(now time.Time) {
	if !u.opts.Terminal || u.opts.Bars {
		return
	}
	cols, rows := u.size()
	lines := u.frameLocked(now, cols, rows)
	var b strings.Builder
	b.WriteString(u.upLocked(cols) + "\r\x1b[J")
	u.drawn = u.drawn[:0]
	for _, l := range lines {
		l = fit(l, cols-1)
		b.WriteString(l + "\n")
		u.drawn = append(u.drawn, utf8.RuneCountInString(l))
	}
	io.WriteString(u.opts.Out, b.String())
}

func (u *UI) bars(ctx context.Context, prog *netfox.Progress) {
	defer close(u.done)
	var (
		total *mpb.Bar
		segs  = map[int]*mpb.Bar{}
		last  = time.Now()
		tick  = time.NewTicker(150 * time.Millisecond)
		// The segments beyond MaxBars, summed up on one line; read by
		// mpb's drawing goroutine, hence atomic.
		more                          *mpb.Bar
		hidden, hiddenDone, hiddenAll atomic.Int64
	)
	defer tick.Stop()
	update := func() {
		snap := prog.Snapshot()
		if snap.Path == "" {
			return
		}
		now := time.Now()
		if total == nil {
			// Total 0 here, set below: the total completes only once the
			// segment bars are gone (see the end of update), or mpb
			// draws its last frame with them.
			total = u.bar.New(0, mpb.BarStyle(),
				mpb.BarPriority(1<<30), // always last, below the segments
				mpb.PrependDecorators(decor.Name("total ", decor.WC{W: 9}), decor.CountersKibiByte("% .1f / % .1f", decor.WC{W: 22})),
				mpb.AppendDecorators(decor.EwmaSpeed(decor.SizeB1024(0), "% .1f", 0, decor.WC{W: 12}), decor.Name(" ETA "), decor.EwmaETA(decor.ET_STYLE_GO, 0)),
			)
			total.SetTotal(max(snap.Length, 0), false)
			total.SetCurrent(snap.Written)
		} else {
			total.EwmaSetCurrent(snap.Written, now.Sub(last))
		}
		last = now
		var nHidden, nHiddenDone, nHiddenAll int64
		for _, s := range snap.Segments {
			b, ok := segs[s.ID]
			size := s.End - s.Start
			switch {
			case !ok && s.Next < s.End && s.Busy && len(segs) >= u.opts.MaxBars:
				nHidden++
				nHiddenDone += s.Next - s.Start
				nHiddenAll += size
			case !ok && s.Next < s.End && s.Busy:
				// Created with total 0, a bar does not complete by itself
				// when it reaches its total (mpb's rule), so that a done
				// segment can be dropped rather than left at 100%.
				b = u.bar.New(0, mpb.BarStyle(),
					mpb.PrependDecorators(decor.Name(fmt.Sprintf("seg %d", s.ID), decor.WC{W: 9}), decor.CountersKibiByte("% .1f / % .1f", decor.WC{W: 22})),
					mpb.AppendDecorators(decor.EwmaSpeed(decor.SizeB1024(0), "% .1f", 0, decor.WC{W: 12})),
				)
				b.SetTotal(size, false)
				b.SetCurrent(s.Next - s.Start)
				segs[s.ID] = b
			case ok:
				b.SetTotal(size, false)
				b.EwmaSetCurrent(s.Next-s.Start, 150*time.Millisecond)
				if s.Next >= s.End {
					b.Abort(true) // drop it: the total shows what it did
					delete(segs, s.ID)
				}
			}
		}
		hidden.Store(nHidden)
		hiddenDone.Store(nHiddenDone)
		hiddenAll.Store(nHiddenAll)
		switch {
		case nHidden > 0 && more == nil:
			more = u.bar.New(0, mpb.NopStyle(), mpb.BarPriority(1<<30-1),
				mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
					return fmt.Sprintf("   +%d more segments  %s / %s", hidden.Load(),
						units.FormatSize(hiddenDone.Load()), units.FormatSize(hiddenAll.Load()))
				})))
		case nHidden == 0 && more != nil:
			more.Abort(true)
			more = nil
		}
		if len(segs) == 0 && more == nil && snap.Length >= 0 && snap.Written >= snap.Length {
			total.SetTotal(-1, true)
		}
	}
	for {
		select {
		case <-tick.C:
			update()
		case <-ctx.Done():
			update()
			for _, b := range segs {
				b.Abort(true)
			}
			if more != nil {
				more.Abort(true)
			}
			if total != nil && !total.Completed() {
				total.Abort(false)
			}
			u.bar.Wait()
			return
		}
	}
}

func (u *UI) plain(ctx context.Context, prog *netfox.Progress) {
	defer close(u.done)
	tick := time.NewTicker(u.opts.PlainEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			snap := prog.Snapshot()
			if snap.Path == "" {
				continue
			}
			// Speed and ETA as the library measures them (Snapshot).
			speed := snap.Rate
			u.mu.Lock()
			if snap.Length > 0 {
				eta := ""
				if snap.ETA >= 0 {
					eta = ", ETA " + snap.ETA.String()
				}
				fmt.Fprintf(u.opts.Out, "netfox: %s of %s (%.0f%%), %s/s%s\n", units.FormatSize(snap.Written), units.FormatSize(snap.Length),
					snap.Percent(), units.FormatSize(int64(speed)), eta)
			} else {
				fmt.Fprintf(u.opts.Out, "netfox: %s, %s/s\n", units.FormatSize(snap.Written), units.FormatSize(int64(speed)))
			}
			u.mu.Unlock()
		}
	}
}
