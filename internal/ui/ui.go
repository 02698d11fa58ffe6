// Package ui shows running downloads on a terminal: by default one block
// per download (a status line and a segment map of the whole file); for
// a batch a line for the whole batch (files done, bytes, speed, ETA) and
// one per active file, saying whether it is connecting, waiting for a
// connection, downloading or retrying; or with Bars a bar per active
// segment (github.com/vbauerster/mpb/v8). When the output is not a
// terminal it prints a plain progress line every few seconds.
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

// Source is where the view reads a download's state: a netfox.Transfer,
// or what Request.OnProgress last reported.
type Source interface {
	Snapshot() netfox.Snapshot
}

// Options configures a UI.
type Options struct {
	// Out is where the UI draws (stderr, normally).
	Out io.Writer
	// Terminal selects the redrawn view; otherwise a plain line every
	// PlainEvery.
	Terminal bool
	// Bars selects a bar per segment instead of the segment map.
	Bars bool
	// PlainEvery is the interval of plain progress lines; zero means 5s.
	PlainEvery time.Duration
	// MaxBars is the most segment bars drawn at once with Bars; the others
	// are counted on one line. Zero means 16.
	MaxBars int
	// Size returns the terminal's columns and rows, read again for every
	// frame so that a resize takes effect at once; nil or zeros mean
	// 80x24.
	Size func() (cols, rows int)
}

// narrowBars is the terminal width below which the --bars view leaves
// out the byte counters.
const narrowBars = 72

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
	// A batch's totals: its files, those finished (saved, failed or
	// already complete), their bytes, and the rate of the whole batch.
	files                                            int
	finished                                         int
	finishedWritten, finishedLength, finishedFetched int64
	began                                            time.Time
	rate                                             meter
	ended                                            bool // the last frame: the batch's average speed, no ETA
}

// Item is one download on a UI.
type Item struct {
	item
	ui *UI
}

// Start begins showing one download.
func Start(prog Source, opts Options) *UI {
	u := newUI(opts, false)
	u.items = []*Item{{item: item{prog: prog, began: time.Now()}, ui: u}}
	u.run()
	return u
}

// StartBatch begins showing a batch of files: a line for the whole
// batch, and one line per file added with Add until it is removed.
func StartBatch(opts Options, files int) *UI {
	u := newUI(opts, true)
	u.files = files
	u.run()
	return u
}

func newUI(opts Options, batch bool) *UI {
	if opts.PlainEvery <= 0 {
		opts.PlainEvery = 5 * time.Second
	}
	if opts.MaxBars <= 0 {
		opts.MaxBars = 16
	}
	return &UI{opts: opts, done: make(chan struct{}), batch: batch, began: time.Now()}
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
		go u.plainBatch(ctx)
	default:
		go u.plain(ctx, u.items[0].prog)
	}
}

// Add puts a download of a batch on the view, labelled label, called
// planned until the server names its file.
func (u *UI) Add(label, planned string, prog Source) *Item {
	it := &Item{item: item{label: label, planned: planned, prog: prog, began: time.Now()}, ui: u}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.items = append(u.items, it)
	return it
}

// Remove takes the item of a finished download off the view; the batch's
// line counts it as finished, with its bytes.
func (it *Item) Remove() {
	u := it.ui
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, x := range u.items {
		if x == it {
			u.items = append(u.items[:i:i], u.items[i+1:]...)
			snap := it.prog.Snapshot()
			u.finished++
			u.finishedWritten += snap.Written
			u.finishedFetched += snap.Fetched
			if snap.Length > 0 {
				u.finishedLength += snap.Length
			}
			break
		}
	}
	u.redrawLocked(time.Now())
}

// Retry counts a retry of the item's download: a counter on the terminal
// view, a line otherwise.
func (it *Item) Retry(offset int64, cause error, wait time.Duration) {
	it.retries.Add(1)
	it.retryAt.Store(time.Now().Add(wait).UnixNano())
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
			u.ended = true
			u.redrawLocked(time.Now())
			u.drawn = nil // the last frame stays
			u.mu.Unlock()
			return
		}
	}
}

// frameLocked is the block to draw: for one download its status line and
// segment map; for a batch its line and a status line per active file.
func (u *UI) frameLocked(now time.Time, cols, rows int) []string {
	var lines []string
	width := cols - 1
	if u.batch {
		lines = append(lines, layout(u.batchFieldsLocked(now), width))
	}
	for _, it := range u.items {
		it.ended = u.ended
		snap := it.sample(now)
		if snap.Path == "" && !u.batch {
			continue
		}
		lines = append(lines, it.status(snap, now, width))
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

// batchTotals are the figures of a batch's line at one instant.
type batchTotals struct {
	files, finished  int
	written, fetched int64
	// length is the sum of the lengths known; unknown counts the files
	// whose length is not known yet (not started, or no length given).
	length  int64
	unknown int
	rate    float64
	elapsed time.Duration
}

// batchLocked sums the batch's files up at now and updates its rate.
func (u *UI) batchLocked(now time.Time) batchTotals {
	t := batchTotals{files: u.files, finished: u.finished, written: u.finishedWritten,
		fetched: u.finishedFetched, length: u.finishedLength, elapsed: now.Sub(u.began)}
	known := u.finished
	for _, it := range u.items {
		snap := it.prog.Snapshot()
		t.written += snap.Written
		t.fetched += snap.Fetched
		if snap.Length >= 0 {
			t.length += snap.Length
			known++
		}
	}
	t.unknown = max(u.files-known, 0)
	u.rate.add(now, t.fetched)
	t.rate = u.rate.rate()
	if u.ended {
		t.rate = float64(t.fetched) / max(t.elapsed.Seconds(), 1e-3)
	}
	return t
}

// batchFieldsLocked is the batch's line: files finished of all, bytes,
// speed, ETA, elapsed time. While some files' lengths are unknown the
// total reads "N MiB+" and the ETA, "~" in front, counts each of them
// as long as the average file known.
func (u *UI) batchFieldsLocked(now time.Time) []field {
	t := u.batchLocked(now)
	total := units.FormatSize(t.length)
	remaining := t.length - t.written
	approx := ""
	if t.unknown > 0 {
		total += "+"
		approx = "~"
		if known := t.files - t.unknown; known > 0 {
			remaining += int64(t.unknown) * (t.length / int64(known))
		}
	}
	fields := []field{
		{"total", keepName},
		{fmt.Sprintf("%d/%s", t.finished, units.Count(t.files, "file")), keepState},
		{units.FormatSize(t.written) + " / " + total, keepSize},
		{units.FormatSize(int64(t.rate)) + "/s", keepSpeed},
		{"ETA " + approx + eta(remaining, t.rate), keepETA},
		{clock(t.elapsed), keepElapsed},
	}
	if u.ended {
		// The speed of the whole run, and no ETA.
		fields = append(fields[:4], fields[5])
	}
	return fields
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
		l = fit(l, cols-1) // the segment map's, and a last resort
		b.WriteString(l + "\n")
		u.drawn = append(u.drawn, utf8.RuneCountInString(l))
	}
	io.WriteString(u.opts.Out, b.String())
}

func (u *UI) bars(ctx context.Context, prog Source) {
	defer close(u.done)
	var (
		total     *mpb.Bar
		totalRate atomic.Pointer[string] // its speed and ETA, read by mpb's goroutine
		rate      meter
		began     = u.items[0].began
		segs      = map[int]*mpb.Bar{}
		segRates  = map[int]*segRate{}
		tick      = time.NewTicker(frameEvery)
		// The segments beyond MaxBars, summed up on one line; read by
		// mpb's drawing goroutine, hence atomic.
		more                          *mpb.Bar
		hidden, hiddenDone, hiddenAll atomic.Int64
	)
	defer tick.Stop()
	none := ""
	totalRate.Store(&none)
	// On a narrow terminal the byte counters go, whole, so that the
	// speeds and the ETA keep their digits (mpb would cut them).
	counters := func() decor.Decorator {
		if cols, _ := u.size(); cols < narrowBars {
			return decor.Name("")
		}
		return decor.CountersKibiByte("% .1f / % .1f", decor.WC{W: 22})
	}
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
				mpb.PrependDecorators(decor.Name("total ", decor.WC{W: 9}), counters()),
				mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return *totalRate.Load() }, decor.WC{W: 24, C: decor.DindentRight})),
			)
			total.SetTotal(max(snap.Length, 0), false)
		}
		total.SetCurrent(snap.Written)
		// The total's speed is the bytes that arrived over the last few
		// seconds (meter), its ETA the bytes left at that speed; once
		// every byte is here, the average of the run, as the summary.
		rate.add(now, snap.Fetched)
		text := fmt.Sprintf("%s/s  ETA %s", units.FormatSize(int64(rate.rate())), eta(snap.Length-snap.Written, rate.rate()))
		if snap.Length >= 0 && snap.Written >= snap.Length {
			avg := float64(snap.Fetched) / max(now.Sub(began).Seconds(), 1e-3)
			text = fmt.Sprintf("%s/s  in %s", units.FormatSize(int64(avg)), clock(now.Sub(began)))
		} else if snap.Length < 0 {
			text = units.FormatSize(int64(rate.rate())) + "/s"
		}
		totalRate.Store(&text)
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
				sr := &segRate{}
				sr.text.Store(&none)
				b = u.bar.New(0, mpb.BarStyle(),
					mpb.PrependDecorators(decor.Name(fmt.Sprintf("seg %d", s.ID), decor.WC{W: 9}), counters()),
					mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return *sr.text.Load() }, decor.WC{W: 12})),
				)
				b.SetTotal(size, false)
				b.SetCurrent(s.Next - s.Start)
				segs[s.ID] = b
				segRates[s.ID] = sr
				sr.add(now, s.Next)
			case ok:
				b.SetTotal(size, false)
				b.SetCurrent(s.Next - s.Start)
				segRates[s.ID].add(now, s.Next)
				if s.Next >= s.End {
					b.Abort(true) // drop it: the total shows what it did
					delete(segs, s.ID)
					delete(segRates, s.ID)
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
					return fmt.Sprintf("   +%s  %s / %s", units.Count(int(hidden.Load()), "more segment"),
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

// plainBatch prints the batch's line every PlainEvery, as plain text,
// while a file is at work; its rate is sampled every sampleEvery.
func (u *UI) plainBatch(ctx context.Context) {
	defer close(u.done)
	tick := time.NewTicker(min(sampleEvery, u.opts.PlainEvery))
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			u.mu.Lock()
			fields := u.batchFieldsLocked(now)
			if len(u.items) > 0 && now.Sub(last) >= u.opts.PlainEvery-sampleEvery/2 {
				last = now
				var parts []string
				for _, f := range fields[1:] {
					parts = append(parts, f.text)
				}
				fmt.Fprintf(u.opts.Out, "netfox: %s\n", strings.Join(parts, ", "))
			}
			u.mu.Unlock()
		}
	}
}

// sampleEvery is how often a plain view samples the rate between lines.
const sampleEvery = 500 * time.Millisecond

func (u *UI) plain(ctx context.Context, prog Source) {
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
