package segment

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"testing/synctest"
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
// once, and each cut is told as a Replace event with rate 0 and ErrSilent.
// In a synctest bubble: the silences are measured on its clock.
func TestSilentConnectionsCut(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after int
	}{{"no headers", 0}, {"mid-body", 100 << 10}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { silentConnectionsCut(t, tc.after) })
		})
	}
}

func silentConnectionsCut(t *testing.T, after int) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<20/16)
	op := &silentOpener{data: data, every: 4, after: after}
	out := newMemFile(len(data))
	table := &Table{}
	for _, r := range byterange.Split(int64(len(data)), 4) {
		table.Add(r.Start, r.Start, r.Start, r.End)
	}
	var log eventLog
	f := &Fetcher{Opener: op, Output: out, StallWindow: -1, OnEvent: log.add}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	began := time.Now()
	err := Run(ctx, table, f, 4)
	cuts := log.of(EventReplace)
	if err != nil {
		t.Fatalf("%v (%d requests, %d silent, %d cut)", err, op.opened.Load(), op.silenced.Load(), len(cuts))
	}
	if !bytes.Equal(out.buf, data) {
		t.Fatal("wrong bytes")
	}
	if err := out.onceEach(); err != nil {
		t.Fatal(err)
	}
	// Silent requests are cut, and only those (a silent hedge, were
	// there one, would end with its race instead).
	if n := int64(len(cuts)); op.silenced.Load() < 1 || n < 1 || n > op.silenced.Load() {
		t.Errorf("%d requests silent, %d cut for silence: want at least one, and no more cuts than silent requests", op.silenced.Load(), n)
	}
	for _, e := range cuts {
		if !errors.Is(e.Err, ErrSilent) || e.Rate != 0 || e.Segment < 0 {
			t.Errorf("cut told as %+v, want rate 0, ErrSilent and its segment", e)
		}
		// Silent for more than the floor, long before the absolute
		// limits (the transport's 30 s).
		if d := e.At.Sub(began); d < answerFloor || d > 5*time.Second {
			t.Errorf("cut %v after the start, want between %v and 5s", d, answerFloor)
		}
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
// silent compared with the others, and none is cut. In a synctest bubble.
func TestSlowSteadyNotCut(t *testing.T) { synctest.Test(t, slowSteadyNotCut) }

func slowSteadyNotCut(t *testing.T) {
	data := bytes.Repeat([]byte("fedcba9876543210"), 4*32<<10/16) // 4 x 32 KiB: four bursts each
	out := newMemFile(len(data))
	table := &Table{}
	for _, r := range byterange.Split(int64(len(data)), 4) {
		table.Add(r.Start, r.Start, r.Start, r.End)
	}
	var log eventLog
	f := &Fetcher{
		Opener: &burstOpener{data: data, gap: 700 * time.Millisecond}, Output: out,
		SlowWindow: -1, // the slow-connection rule judges rates, not silence
		OnEvent:    log.add,
	}
	began := time.Now()
	if err := Run(context.Background(), table, f, 4); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.buf, data) {
		t.Fatal("wrong bytes")
	}
	if n := len(log.of(EventReplace)) + len(log.of(EventRetry)); n != 0 {
		t.Errorf("%d connections cut or retried on a slow but steady link", n)
	}
	// Four bursts of each connection, 0.7 s apart: the silence watch
	// had its chances.
	if d := time.Since(began); d != 4*700*time.Millisecond {
		t.Errorf("took %v of the bubble's clock, want 2.8s", d)
	}
}
