package segment

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netfox/netfox/byterange"
)

// silentOpener serves ranges of data at once, except that every every-th
// request (counting from 1) goes silent: it never answers (after == 0)
// or stops after after bytes of its body, until the request is given up.
type silentOpener struct {
	data     []byte
	every    int64
	after    int
	opened   atomic.Int64
	silenced atomic.Int64
}

func (o *silentOpener) OpenRange(ctx context.Context, r byterange.Range) (io.ReadCloser, error) {
	body := o.data[r.Start:r.End]
	if o.opened.Add(1)%o.every != 0 {
		return io.NopCloser(bytes.NewReader(body)), nil
	}
	o.silenced.Add(1)
	if o.after == 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return io.NopCloser(io.MultiReader(bytes.NewReader(body[:min(o.after, len(body))]), blockUntil{ctx})), nil
}

// blockUntil is a body that sends nothing until ctx is done.
type blockUntil struct{ ctx context.Context }

func (b blockUntil) Read([]byte) (int, error) {
	<-b.ctx.Done()
	return 0, b.ctx.Err()
}

// TestSilentConnectionsCut: a quarter of the requests go silent, before
// their headers or in mid-body. The absolute stall window is off, so only
// the silence rule can end them (the context's deadline is a bound that
// fails the test, not a measurement); every byte arrives and is written
// once.
func TestSilentConnectionsCut(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after int
	}{{"no headers", 0}, {"mid-body", 100 << 10}} {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Repeat([]byte("0123456789abcdef"), 4<<20/16)
			op := &silentOpener{data: data, every: 4, after: tc.after}
			out := newMemFile(len(data))
			table := &Table{}
			for _, r := range byterange.Split(int64(len(data)), 4) {
				table.Add(r.Start, r.Start, r.Start, r.End)
			}
			var silentCuts atomic.Int64
			f := &Fetcher{Opener: op, Output: out, OnReconnect: func(_ *Segment, rate, _ float64) {
				if rate == 0 {
					silentCuts.Add(1)
				}
			}}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := Run(ctx, table, f, 4); err != nil {
				t.Fatalf("%v (%d requests, %d silent, %d cut)", err, op.opened.Load(), op.silenced.Load(), silentCuts.Load())
			}
			if !bytes.Equal(out.buf, data) {
				t.Fatal("wrong bytes")
			}
			if err := out.onceEach(); err != nil {
				t.Fatal(err)
			}
			if op.silenced.Load() < 1 || silentCuts.Load() < 1 {
				t.Errorf("%d requests silent, %d cut for silence: want at least one of each", op.silenced.Load(), silentCuts.Load())
			}
		})
	}
}

// burstOpener serves every request alike: a burst of 8 KiB every gap,
// a slow but steady link whose waits are longer than silentFloor.
type burstOpener struct {
	data []byte
	gap  time.Duration
}

func (o *burstOpener) OpenRange(ctx context.Context, r byterange.Range) (io.ReadCloser, error) {
	return &burstBody{ctx: ctx, data: o.data[r.Start:r.End], gap: o.gap}, nil
}

type burstBody struct {
	ctx  context.Context
	data []byte
	gap  time.Duration
}

func (b *burstBody) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	t := time.NewTimer(b.gap) // pacing the server, not synchronising the test
	defer t.Stop()
	select {
	case <-t.C:
	case <-b.ctx.Done():
		return 0, b.ctx.Err()
	}
	n := copy(p[:min(len(p), 8<<10)], b.data)
	b.data = b.data[n:]
	return n, nil
}

func (b *burstBody) Close() error { return nil }

// TestSlowSteadyNotCut: every connection goes quiet for 0.7 s between
// bursts, longer than the silence floor; as all of them do, none is
// silent compared with the others, and none is cut.
func TestSlowSteadyNotCut(t *testing.T) {
	data := bytes.Repeat([]byte("fedcba9876543210"), 4*32<<10/16) // 4 x 32 KiB: four bursts each
	out := newMemFile(len(data))
	table := &Table{}
	for _, r := range byterange.Split(int64(len(data)), 4) {
		table.Add(r.Start, r.Start, r.Start, r.End)
	}
	var cuts atomic.Int64
	f := &Fetcher{
		Opener: &burstOpener{data: data, gap: 700 * time.Millisecond}, Output: out,
		SlowWindow:  -1, // the slow-connection rule judges rates, not silence
		OnReconnect: func(*Segment, float64, float64) { cuts.Add(1) },
		OnRetry: func(_ *Segment, err error, _ time.Duration) {
			if errors.Is(err, ErrSilent) {
				t.Errorf("retry after %v", err)
			}
		},
	}
	if err := Run(context.Background(), table, f, 4); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.buf, data) {
		t.Fatal("wrong bytes")
	}
	if n := cuts.Load(); n != 0 {
		t.Errorf("%d connections cut on a slow but steady link", n)
	}
}
