package segment

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"

	"github.com/netfox/netfox/byterange"
)

// memOpener serves ranges of data, each connection at its own pace:
// the first opened is slow (a byte every slowEvery), the others fast.
type memOpener struct {
	data      []byte
	opened    atomic.Int64
	slowEvery time.Duration
	slowStart atomic.Int64 // where the slow one's range starts
}

func (m *memOpener) OpenRange(ctx context.Context, r byterange.Range) (io.ReadCloser, error) {
	body := &pacedBody{ctx: ctx, data: m.data[r.Start:r.End]}
	if m.opened.Add(1) == 1 {
		body.every = m.slowEvery
		m.slowStart.Store(r.Start)
	}
	return body, nil
}

type pacedBody struct {
	ctx   context.Context
	data  []byte
	every time.Duration // per 1 KiB; 0 for all at once
}

func (b *pacedBody) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(b.data))
	if b.every > 0 {
		n = min(n, 1<<10)
		select {
		case <-time.After(b.every):
		case <-b.ctx.Done():
			return 0, b.ctx.Err()
		}
	}
	copy(p, b.data[:n])
	b.data = b.data[n:]
	return n, nil
}

func (b *pacedBody) Close() error { return nil }

// memFile is a WriterAt that records the ranges written to it.
type memFile struct {
	mu     sync.Mutex
	buf    []byte
	writes []byterange.Range
}

func newMemFile(size int) *memFile { return &memFile{buf: make([]byte, size)} }

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	copy(m.buf[off:], p)
	if len(p) > 0 {
		m.writes = append(m.writes, byterange.Range{Start: off, End: off + int64(len(p))})
	}
	return len(p), nil
}

// onceEach reports how the writes fail to cover the file with each byte
// written exactly once.
func (m *memFile) onceEach() error {
	m.mu.Lock()
	ws := slices.Clone(m.writes)
	m.mu.Unlock()
	slices.SortFunc(ws, func(a, b byterange.Range) int { return cmp.Compare(a.Start, b.Start) })
	var next int64
	for _, w := range ws {
		if w.Start != next {
			return fmt.Errorf("a write of %v follows byte %d: a byte written twice, or never", w, next)
		}
		next = w.End
	}
	if next != int64(len(m.buf)) {
		return fmt.Errorf("writes end at byte %d of %d", next, len(m.buf))
	}
	return nil
}

// TestHedgeWinsTheTail: of two ranges, the first is on a connection at
// 20 KiB/s. Too small to split, it is hedged by the idle worker, which
// wins: the download ends in a fraction of the slow connection's time,
// and no byte is written twice. The hedge is told (a Hedge event) with
// the segment and the range raced. In a synctest bubble: the pace and the
// time taken are on its clock.
func TestHedgeWinsTheTail(t *testing.T) { synctest.Test(t, hedgeWinsTheTail) }

func hedgeWinsTheTail(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 256<<10/16) // 256 KiB
	op := &memOpener{data: data, slowEvery: 50 * time.Millisecond}
	out := newMemFile(len(data))
	table := &Table{MinSplit: 1 << 20}
	for _, r := range byterange.Split(int64(len(data)), 2) {
		table.Add(r.Start, r.Start, r.Start, r.End)
	}
	planned := table.Snapshot()
	var log eventLog
	began := time.Now()
	if err := Run(context.Background(), table, &Fetcher{Opener: op, Output: out, SlowWindow: -1, OnEvent: log.add}, 2); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(began)
	if !bytes.Equal(out.buf, data) {
		t.Fatal("wrong bytes")
	}
	if err := out.onceEach(); err != nil {
		t.Fatal(err)
	}
	// The slow connection alone would need 128 x 50ms = 6.4 s.
	if elapsed > 4*time.Second {
		t.Errorf("took %v: the slow range was not hedged", elapsed)
	}
	if op.opened.Load() < 3 {
		t.Errorf("%d requests: no hedge was sent", op.opened.Load())
	}
	hedges := log.of(EventHedge)
	if len(hedges) != 1 {
		t.Fatalf("%d hedges told, want 1: %+v", len(hedges), log.all())
	}
	var slow Span // the segment of the first request, the slow one, as planned
	for _, sp := range planned {
		if sp.Start == op.slowStart.Load() {
			slow = sp
		}
	}
	h := hedges[0]
	if h.Segment != slow.ID || h.Range.End != slow.End || h.Range.Start <= slow.Start || h.Range.Len() > maxHedgeBytes {
		t.Errorf("hedge told %+v, want the rest of the slow segment %+v", h, slow)
	}
}

// countingOpener counts the bytes its bodies hand out.
type countingOpener struct {
	Opener
	served atomic.Int64
}

func (c *countingOpener) OpenRange(ctx context.Context, r byterange.Range) (io.ReadCloser, error) {
	body, err := c.Opener.OpenRange(ctx, r)
	if err != nil {
		return nil, err
	}
	return &countedBody{ReadCloser: body, n: &c.served}, nil
}

type countedBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// TestHedgeGoesThroughTheReadLoop: a hedge reads through the same loop
// as a segment, so the rate limiter sees every byte read, the hedge's
// included, and the written total counts each byte once. The limiter has
// a burst larger than the file and a rate of one byte a second: the
// tokens it lost are the bytes it was asked for. In a synctest bubble.
func TestHedgeGoesThroughTheReadLoop(t *testing.T) { synctest.Test(t, hedgeGoesThroughTheReadLoop) }

func hedgeGoesThroughTheReadLoop(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 256<<10/16) // 256 KiB
	op := &countingOpener{Opener: &memOpener{data: data, slowEvery: 50 * time.Millisecond}}
	out := newMemFile(len(data))
	table := &Table{MinSplit: 1 << 20}
	for _, r := range byterange.Split(int64(len(data)), 2) {
		table.Add(r.Start, r.Start, r.Start, r.End)
	}
	const burst = 1 << 30
	limit := &Limit{limiter: rate.NewLimiter(1, burst)} // a cap that counts what it was asked for
	limit.capped.Store(true)
	var fetched atomic.Int64
	began := time.Now()
	if err := Run(context.Background(), table, &Fetcher{Opener: op, Output: out, Limits: []*Limit{limit}, Fetched: &fetched, SlowWindow: -1}, 2); err != nil {
		t.Fatal(err)
	}
	refill := time.Since(began).Seconds() + 1
	if !bytes.Equal(out.buf, data) {
		t.Fatal("wrong bytes")
	}
	if op.Opener.(*memOpener).opened.Load() < 3 {
		t.Fatal("no hedge was sent")
	}
	asked := float64(burst) - limit.limiter.Tokens()
	if served := float64(op.served.Load()); asked < served-refill || asked > served+refill {
		t.Errorf("the limiter was asked for %.0f bytes, the bodies handed out %.0f: some reads bypassed it", asked, served)
	}
	if fetched.Load() != int64(len(data)) {
		t.Errorf("fetched %d, want each byte of %d counted once", fetched.Load(), len(data))
	}
}
