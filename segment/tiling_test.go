package segment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
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

// TestTableAlwaysTilesTheFile checks, while Run steals, cuts, hedges,
// reconnects and retries, in one request per range and in pieces, that
// every snapshot of the table (what a checkpoint would save) accounts for
// every byte exactly once: one taken at each of those events, as it is
// told, and one every 250µs besides. Steals, hedges and retries must
// have happened. It runs in a synctest bubble, so
// that the connections' pace is the same on a loaded machine (the events
// happen whatever the load); which goroutine runs first at an instant is
// still the scheduler's choice.
func TestTableAlwaysTilesTheFile(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 4<<20/16)
	kinds := map[EventKind]int{}
	var snapshots, pieces int
	for seed := range uint64(4) {
		synctest.Test(t, func(t *testing.T) {
			table := &Table{MinSplit: 512 << 10}
			for _, r := range byterange.Split(int64(len(data)), 4) {
				table.Add(r.Start, r.Start, r.Start, r.End)
			}
			var (
				mu      sync.Mutex
				checked int
				failed  error
			)
			check := func(when string) {
				err := checkTiling(table.Snapshot(), int64(len(data)))
				mu.Lock()
				defer mu.Unlock()
				checked++
				if err != nil && failed == nil {
					failed = fmt.Errorf("seed %d, %s: %w", seed, when, err)
				}
			}
			out := newMemFile(len(data))
			var log eventLog
			f := &Fetcher{
				Opener: &chaosOpener{data: data, seed: seed}, Output: out,
				MaxTries: 50, RetryBase: time.Millisecond, RetryWait: 5 * time.Millisecond,
				SlowWindow: 200 * time.Millisecond,
				OnEvent: func(e Event) {
					log.add(e)
					check(e.Kind.String())
				},
			}
			if seed%2 == 1 {
				// Every other run asks in pieces, back to back.
				f.Pieces = &Pieces{Min: 64 << 10, First: 128 << 10, Max: 1 << 20, Seconds: 0.2}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- Run(ctx, table, f, 4) }()
			tick := time.NewTicker(250 * time.Microsecond)
			defer tick.Stop()
		watch:
			for {
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("seed %d: %v", seed, err)
					}
					break watch
				case <-tick.C:
					check("a tick")
				}
			}
			check("the end")
			if failed != nil {
				t.Fatal(failed)
			}
			if !bytes.Equal(out.buf, data) {
				t.Fatalf("seed %d: wrong bytes", seed)
			}
			snapshots += checked
			pieces += len(table.Snapshot())
			for _, e := range log.all() {
				kinds[e.Kind]++
			}
		})
	}
	t.Logf("%d snapshots; %d segments in all; events %v", snapshots, pieces, kinds)
	// Cuts and replacements happen too (4 and 1 as a rule), but which
	// goroutine goes first at an instant may spare them.
	for _, k := range []EventKind{EventSteal, EventHedge, EventRetry} {
		if kinds[k] == 0 {
			t.Errorf("the runs did not exercise %s: events %v", k, kinds)
		}
	}
}
