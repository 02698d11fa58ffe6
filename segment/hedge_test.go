package segment

import (
	"bytes"
	"context"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
