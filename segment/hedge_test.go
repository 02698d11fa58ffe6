package segment

import (
	"bytes"
	"context"
	"io"
	"sync"
	"sync/atomic"
	"testing"
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
}

func (m *memOpener) OpenRange(ctx context.Context, r byterange.Range) (io.ReadCloser, error) {
	body := &pacedBody{ctx: ctx, data: m.data[r.Start:r.End]}
	if m.opened.Add(1) == 1 {
		body.every = m.slowEvery
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

// memFile is a WriterAt that records each byte's writes.
type memFile struct {
	mu     sync.Mutex
	buf    []byte
	writes []int
}

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	copy(m.buf[off:], p)
	for i := range p {
		m.writes[int(off)+i]++
	}
	return len(p), nil
}

// TestHedgeWinsTheTail: of two ranges, the first is on a connection at
// 20 KiB/s. Too small to split, it is hedged by the idle worker, which
// wins: the download ends in a fraction of the slow connection's time,
// and no byte is written twice.
func TestHedgeWinsTheTail(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 256<<10/16) // 256 KiB
	op := &memOpener{data: data, slowEvery: 50 * time.Millisecond}
	out := &memFile{buf: make([]byte, len(data)), writes: make([]int, len(data))}
	table := &Table{MinSplit: 1 << 20}
	for _, r := range byterange.Split(int64(len(data)), 2) {
		table.Add(r.Start, r.Start, r.Start, r.End)
	}
	began := time.Now()
	if err := Run(context.Background(), table, &Fetcher{Opener: op, Output: out, SlowWindow: -1}, 2); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(began)
	if !bytes.Equal(out.buf, data) {
		t.Fatal("wrong bytes")
	}
	for i, n := range out.writes {
		if n != 1 {
			t.Fatalf("byte %d written %d times", i, n)
		}
	}
	// The slow connection alone would need 128 x 50ms = 6.4 s.
	if elapsed > 4*time.Second {
		t.Errorf("took %v: the slow range was not hedged", elapsed)
	}
	if op.opened.Load() < 3 {
		t.Errorf("%d requests: no hedge was sent", op.opened.Load())
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
// tokens it lost are the bytes it was asked for.
func TestHedgeGoesThroughTheReadLoop(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 256<<10/16) // 256 KiB
	op := &countingOpener{Opener: &memOpener{data: data, slowEvery: 50 * time.Millisecond}}
	out := &memFile{buf: make([]byte, len(data)), writes: make([]int, len(data))}
	table := &Table{MinSplit: 1 << 20}
	for _, r := range byterange.Split(int64(len(data)), 2) {
		table.Add(r.Start, r.Start, r.Start, r.End)
	}
	const burst = 1 << 30
	limit := rate.NewLimiter(1, burst)
	var fetched atomic.Int64
	began := time.Now()
	if err := Run(context.Background(), table, &Fetcher{Opener: op, Output: out, Limits: []*rate.Limiter{limit}, Fetched: &fetched, SlowWindow: -1}, 2); err != nil {
		t.Fatal(err)
	}
	refill := time.Since(began).Seconds() + 1
	if !bytes.Equal(out.buf, data) {
		t.Fatal("wrong bytes")
	}
	if op.Opener.(*memOpener).opened.Load() < 3 {
		t.Fatal("no hedge was sent")
	}
	asked := float64(burst) - limit.Tokens()
	if served := float64(op.served.Load()); asked < served-refill || asked > served+refill {
		t.Errorf("the limiter was asked for %.0f bytes, the bodies handed out %.0f: some reads bypassed it", asked, served)
	}
	if fetched.Load() != int64(len(data)) {
		t.Errorf("fetched %d, want each byte of %d counted once", fetched.Load(), len(data))
	}
}
