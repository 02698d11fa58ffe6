package segment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netfox/netfox/byterange"
)

// chaosOpener serves ranges of data, each answer drawn at random: refused
// (a transient error), cut short, slow or fast. Run then steals, hedges,
// reconnects and retries at once.
type chaosOpener struct {
	data   []byte
	seed   uint64
	opened atomic.Int64
}

var errChaos = errors.New("chaos: connection refused")

func (c *chaosOpener) OpenRange(ctx context.Context, r byterange.Range) (io.ReadCloser, error) {
	n := c.opened.Add(1)
	rng := rand.New(rand.NewPCG(c.seed, uint64(n)))
	if n > 4 && rng.IntN(8) == 0 {
		return nil, errChaos
	}
	body := &pacedBody{ctx: ctx, data: c.data[r.Start:r.End], every: 200 * time.Microsecond}
	if rng.IntN(4) == 0 || n == 1 {
		body.every = 20 * time.Millisecond // 50 KiB/s: a tail worth hedging
	}
	if n > 4 && rng.IntN(6) == 0 {
		body.data = body.data[:len(body.data)/2] // cut midway
	}
	return body, nil
}

// checkTiling reports how spans fail to tile [0, length): each byte must
// belong to exactly one segment, whatever its state.
func checkTiling(spans []Span, length int64) error {
	var prevEnd int64
	for _, s := range spans {
		if s.Start != prevEnd {
			return fmt.Errorf("segment %d starts at %d, previous ends at %d: %v", s.ID, s.Start, prevEnd, spans)
		}
		if s.Next < s.Start || s.Next > s.End {
			return fmt.Errorf("segment %d: next %d outside [%d,%d)", s.ID, s.Next, s.Start, s.End)
		}
		prevEnd = s.End
	}
	if prevEnd != length {
		return fmt.Errorf("segments end at %d of %d: %v", prevEnd, length, spans)
	}
	return nil
}

// TestTableAlwaysTilesTheFile snapshots the table as fast as it can while
// Run steals, hedges, reconnects and retries, in one request per range
// and in pieces, and checks every snapshot
// (what a checkpoint would save) accounts for every byte exactly once.
func TestTableAlwaysTilesTheFile(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 4<<20/16)
	var snapshots, hedgesSeen, reconnects, retries, pieces int
	// Two runs, and up to six more while the machine's timing has kept
	// hedges or retries from happening.
	for seed := uint64(0); seed < 2 || (seed < 8 && (hedgesSeen == 0 || retries == 0)); seed++ {
		table := &Table{MinSplit: 512 << 10}
		for _, r := range byterange.Split(int64(len(data)), 4) {
			table.Add(r.Start, r.Start, r.Start, r.End)
		}
		out := newMemFile(len(data))
		var nReconnects, nRetries atomic.Int64
		f := &Fetcher{
			Opener: &chaosOpener{data: data, seed: seed}, Output: out,
			MaxTries: 50, RetryBase: time.Millisecond, RetryWait: 5 * time.Millisecond,
			SlowWindow:  200 * time.Millisecond,
			OnReconnect: func(*Segment, float64, float64) { nReconnects.Add(1) },
			OnRetry:     func(*Segment, error, time.Duration) { nRetries.Add(1) },
		}
		if seed%2 == 1 {
			// Every other run asks in pieces, back to back.
			f.Pieces = &Pieces{Min: 64 << 10, First: 128 << 10, Max: 1 << 20, Seconds: 0.2}
		}
		done := make(chan error, 1)
		go func() { done <- Run(context.Background(), table, f, 4) }()
		deadline := time.After(30 * time.Second)
	watch:
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				break watch
			case <-deadline:
				t.Fatalf("seed %d: Run did not finish in 30 s", seed)
			default:
			}
			if err := checkTiling(table.Snapshot(), int64(len(data))); err != nil {
				t.Fatalf("seed %d, snapshot %d: %v", seed, snapshots, err)
			}
			snapshots++
			table.mu.Lock()
			for _, e := range table.all {
				if e.hedged {
					hedgesSeen++
					break
				}
			}
			table.mu.Unlock()
			runtime.Gosched()
		}
		final := table.Snapshot()
		if err := checkTiling(final, int64(len(data))); err != nil {
			t.Fatalf("seed %d, final: %v", seed, err)
		}
		if !bytes.Equal(out.buf, data) {
			t.Fatalf("seed %d: wrong bytes", seed)
		}
		pieces += len(final)
		reconnects += int(nReconnects.Load())
		retries += int(nRetries.Load())
	}
	t.Logf("%d snapshots; %d while a hedge ran; %d segments in all; %d reconnects; %d retries", snapshots, hedgesSeen, pieces, reconnects, retries)
	if hedgesSeen == 0 || pieces <= 2*4 || retries == 0 {
		t.Errorf("the runs did not exercise hedges (%d), steals (%d segments) and retries (%d)", hedgesSeen, pieces, retries)
	}
}
