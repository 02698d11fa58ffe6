package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"time"

	"github.com/netfox/netfox/byterange"
	"github.com/netfox/netfox/segment"
)

// StreamPath is Result.Path of a stream.
const StreamPath = "-"

// Stream fetches the file and writes it to w in order, over the job's
// connections, which fetch ahead of the writing within a window of
// window bytes: a half window is written while the next is fetched.
// Nothing goes to disk.
func (d *Downloader) Stream(ctx context.Context, w io.Writer, window int64) (res Result, err error) {
	began := time.Now()
	var tcp connCounter
	ctx = tcp.trace(ctx)
	info, err := d.probeURL(ctx, d.req.URL)
	if err != nil {
		return Result{}, err
	}
	var sum *hashWriter
	if c := d.req.Checksum; c != nil {
		h, ok := NewHash(c.Algo)
		if !ok {
			return Result{}, fmt.Errorf("%w: unknown checksum algorithm %q", ErrUsage, c.Algo)
		}
		sum = &hashWriter{w: w, h: h}
		w = sum
	}
	d.notify(EventStreaming, "streaming to stdout; a stream cannot be resumed, an interruption starts it over")
	c := newCounters(d.conns)
	fetcher := d.newFetcher(c, nil) // the output is set below, by mode
	res = Result{Path: StreamPath, Parallel: d.conns}
	var written int64
	if ranged(info) {
		sources, err := d.probeMirrors(ctx, info)
		if err != nil {
			return res, err
		}
		d.useSources(fetcher, sources)
		fetcher.Pieces = d.pieces(sources)
		written, err = d.streamWindows(ctx, w, fetcher, info.Length, window, &c.fetched)
		if err != nil {
			return res, markedError{classify(err), ErrNotResumable}
		}
	} else {
		table := &segment.Table{}
		end := info.Length
		if end < 0 {
			end = math.MaxInt64
		}
		table.Add(0, 0, 0, end)
		d.req.Progress.start(StreamPath, info.Length, table, &c.fetched)
		out := &inOrder{w: w}
		fetcher.Output = out
		if err := d.fetchStream(ctx, fetcher, info, table); err != nil {
			return res, markedError{classify(err), ErrNotResumable}
		}
		written = out.n
	}
	if sum != nil {
		if got := sum.h.Sum(nil); !bytes.Equal(got, d.req.Checksum.Sum) {
			return res, fmt.Errorf("%w: %s of the stream is %x, expected %x", ErrChecksum, d.req.Checksum.Algo, got, d.req.Checksum.Sum)
		}
	}
	c.fill(&res)
	res.Size = written
	res.Connections = max(tcp.count(), 1)
	res.Sources = d.sourceResults(res.Fetched, 0)
	res.Elapsed = time.Since(began)
	return res, nil
}

// streamWindows fetches [0, length) a half window at a time into memory,
// each half over all the connections, and writes each to w while the
// next is fetched.
func (d *Downloader) streamWindows(ctx context.Context, w io.Writer, fetcher *segment.Fetcher, length, window int64, fetched *atomic.Int64) (int64, error) {
	half := max(window/2, 1)
	bufs := [2][]byte{make([]byte, min(half, length)), make([]byte, min(half, max(length-half, 0)))}
	type chunk struct{ buf []byte }
	toWrite := make(chan chunk)
	wrote := make(chan error, 2)
	var written int64
	go func() {
		var err error
		for c := range toWrite {
			if err == nil {
				var n int
				n, err = w.Write(c.buf)
				written += int64(n)
				if err != nil {
					err = &segment.WriteError{Err: err}
				}
			}
			wrote <- err
		}
		close(wrote)
	}()
	pending := 0 // chunks handed to the writer and not yet acknowledged
	finish := func() error {
		var err error
		for ; pending > 0; pending-- {
			if e := <-wrote; err == nil {
				err = e
			}
		}
		close(toWrite)
		return err
	}
	d.req.Progress.start(StreamPath, length, &segment.Table{}, fetched)
	d.req.Progress.useSources(d.sources)
	for base, i := int64(0), 0; base < length; base, i = base+half, i+1 {
		end := min(base+half, length)
		buf := bufs[i%2][:end-base]
		if pending == 2 {
			// The writer still holds this buffer: wait for it.
			if err := <-wrote; err != nil {
				pending--
				finish()
				return written, err
			}
			pending--
		}
		table := &segment.Table{MinSplit: d.req.MinSplit}
		for _, r := range byterange.Split(end-base, d.conns) {
			table.Add(base+r.Start, base+r.Start, base+r.Start, base+r.End)
		}
		d.req.Progress.window(base, table)
		fetcher.Output = &memWindow{buf: buf, base: base}
		if err := segment.Run(ctx, table, fetcher, d.conns); err != nil {
			finish()
			return written, err
		}
		toWrite <- chunk{buf}
		pending++
	}
	err := finish()
	return written, err
}

// memWindow is the part of a stream being fetched: [base, base+len(buf)).
type memWindow struct {
	buf  []byte
	base int64
}

func (m *memWindow) WriteAt(p []byte, off int64) (int, error) {
	if off < m.base || off+int64(len(p)) > m.base+int64(len(m.buf)) {
		return 0, fmt.Errorf("write of %d bytes at %d outside the window [%d, %d)", len(p), off, m.base, m.base+int64(len(m.buf)))
	}
	return copy(m.buf[off-m.base:], p), nil
}

// inOrder passes one stream's writes, which come in order, to w.
type inOrder struct {
	w io.Writer
	n int64
}

func (o *inOrder) WriteAt(p []byte, off int64) (int, error) {
	if off != o.n {
		return 0, errors.New("out-of-order write to a stream")
	}
	n, err := o.w.Write(p)
	o.n += int64(n)
	return n, err
}

// hashWriter hashes what it writes.
type hashWriter struct {
	w io.Writer
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func (hw *hashWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	return n, err
}
