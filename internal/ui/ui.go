// Package ui shows a running download on a terminal: a bar per active
// segment and one for the total (github.com/vbauerster/mpb/v8), or, when
// the output is not a terminal, a plain progress line every few seconds.
package ui

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/units"
)

// Options configures a UI.
type Options struct {
	// Out is where the UI draws (stderr, normally).
	Out io.Writer
	// Terminal selects bars; otherwise a plain line every PlainEvery.
	Terminal bool
	// PlainEvery is the interval of plain progress lines; zero means 3s.
	PlainEvery time.Duration
	// MaxBars is the most segment bars drawn at once (the terminal's
	// height, less the total); the others are counted on one line. Zero
	// means 16.
	MaxBars int
}

// UI shows one download's progress until Stop.
type UI struct {
	opts   Options
	prog   *netfox.Progress
	cancel context.CancelFunc
	done   chan struct{}

	mu  sync.Mutex // serialises notices with drawing
	bar *mpb.Progress
}

// Start begins showing prog.
func Start(prog *netfox.Progress, opts Options) *UI {
	if opts.PlainEvery <= 0 {
		opts.PlainEvery = 3 * time.Second
	}
	if opts.MaxBars <= 0 {
		opts.MaxBars = 16
	}
	ctx, cancel := context.WithCancel(context.Background())
	u := &UI{opts: opts, prog: prog, cancel: cancel, done: make(chan struct{})}
	if opts.Terminal {
		u.bar = mpb.New(mpb.WithOutput(opts.Out), mpb.WithWidth(72), mpb.WithRefreshRate(150*time.Millisecond))
		go u.bars(ctx)
	} else {
		go u.plain(ctx)
	}
	return u
}

// Notify prints a one-line notice without tearing the bars.
func (u *UI) Notify(msg string) {
	line := "netfox: " + msg + "\n"
	if u.bar != nil {
		u.bar.Write([]byte(line))
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	io.WriteString(u.opts.Out, line)
}

// Stop stops drawing, after a last update so the bars show the final state.
func (u *UI) Stop() {
	u.cancel()
	<-u.done
}

func (u *UI) bars(ctx context.Context) {
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
		snap := u.prog.Snapshot()
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

func (u *UI) plain(ctx context.Context) {
	defer close(u.done)
	tick := time.NewTicker(u.opts.PlainEvery)
	defer tick.Stop()
	var lastFetched int64
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			snap := u.prog.Snapshot()
			if snap.Path == "" {
				continue
			}
			// On the bytes fetched in this run: resumed ones arrived
			// before it.
			speed := float64(snap.Fetched-lastFetched) / now.Sub(last).Seconds()
			lastFetched, last = snap.Fetched, now
			u.mu.Lock()
			if snap.Length > 0 {
				fmt.Fprintf(u.opts.Out, "netfox: %s of %s (%.0f%%), %s/s\n", units.FormatSize(snap.Written), units.FormatSize(snap.Length),
					100*float64(snap.Written)/float64(snap.Length), units.FormatSize(int64(speed)))
			} else {
				fmt.Fprintf(u.opts.Out, "netfox: %s, %s/s\n", units.FormatSize(snap.Written), units.FormatSize(int64(speed)))
			}
			u.mu.Unlock()
		}
	}
}
