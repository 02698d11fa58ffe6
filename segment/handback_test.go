package segment

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/netfox/netfox/byterange"
)

// failingOpener refuses the range starting at byte 0 the first fail
// times (fail < 0: always) and serves every other range from data. The
// refusals start once another range's body has been closed, so that
// bytes have arrived when range 0 runs out of tries.
type failingOpener struct {
	data   []byte
	fail   int64
	failed atomic.Int64
	once   sync.Once
	served chan struct{} // closed when a range other than 0 was closed
}

func newFailingOpener(data []byte, fail int64) *failingOpener {
	return &failingOpener{data: data, fail: fail, served: make(chan struct{})}
}

// closeSignal calls signal when its body is closed, after the fetcher
// has counted what it read.
type closeSignal struct {
	io.Reader
	signal func()
}

func (r closeSignal) Close() error {
	r.signal()
	return nil
}

var errFlaky = errors.New("connection reset by a bad node")

func (o *failingOpener) OpenRange(ctx context.Context, r byterange.Range) (io.ReadCloser, error) {
	if r.Start == 0 {
		select {
		case <-o.served:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if o.fail < 0 || o.failed.Add(1) <= o.fail {
			return nil, errFlaky
		}
	}
	return closeSignal{bytes.NewReader(o.data[r.Start:r.End]), func() { o.once.Do(func() { close(o.served) }) }}, nil
}

// TestSegmentOutOfTriesIsHandedBack: the first range fails more often in
// a row than MaxTries allows; since the other connections get their bytes,
// it goes back to the table and a later try succeeds. Each retry is told,
// for range 0, at byte 0. In a synctest bubble.
func TestSegmentOutOfTriesIsHandedBack(t *testing.T) { synctest.Test(t, segmentOutOfTriesIsHandedBack) }

func segmentOutOfTriesIsHandedBack(t *testing.T) {
	data := bytes.Repeat([]byte("netfox"), 100_000)
	op := newFailingOpener(data, 7)
	out := newMemFile(len(data))
	table := &Table{}
	for _, r := range byterange.Split(int64(len(data)), 4) {
		table.Add(r.Start, r.Start, r.Start, r.End)
	}
	var log eventLog
	f := &Fetcher{
		Opener: op, Output: out, MaxTries: 2,
		RetryBase: time.Millisecond, RetryWait: 2 * time.Millisecond,
		StallWindow: time.Minute, StallSpeed: 1,
		OnEvent: log.add,
	}
	if err := Run(context.Background(), table, f, 4); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !bytes.Equal(out.buf, data) {
		t.Fatal("wrong bytes")
	}
	if got := op.failed.Load(); got < op.fail {
		t.Errorf("range 0 refused %d times, want %d", got, op.fail)
	}
	retries := log.of(EventRetry)
	if int64(len(retries)) != op.fail {
		t.Errorf("%d retries told, want one per refusal, %d", len(retries), op.fail)
	}
	for _, e := range retries {
		if e.Segment != 0 || e.Offset != 0 || !errors.Is(e.Err, errFlaky) || e.Wait <= 0 || e.Wait > f.RetryWait {
			t.Errorf("retry told %+v, want segment 0 at byte 0 after %v, a wait up to %v", e, errFlaky, f.RetryWait)
		}
	}
}

// TestSegmentThatNeverSucceedsEndsTheRun: a range that always fails ends
// the download once nothing has arrived for the stall window, with its
// error, one stall window after the last bytes arrived. In a synctest
// bubble.
func TestSegmentThatNeverSucceedsEndsTheRun(t *testing.T) {
	synctest.Test(t, segmentThatNeverSucceedsEndsTheRun)
}

func segmentThatNeverSucceedsEndsTheRun(t *testing.T) {
	data := bytes.Repeat([]byte("netfox"), 100_000)
	op := newFailingOpener(data, -1)
	out := newMemFile(len(data))
	table := &Table{}
	for _, r := range byterange.Split(int64(len(data)), 4) {
		table.Add(r.Start, r.Start, r.Start, r.End)
	}
	f := &Fetcher{
		Opener: op, Output: out, MaxTries: 2,
		RetryBase: time.Millisecond, RetryWait: 5 * time.Millisecond,
		StallWindow: 300 * time.Millisecond, StallSpeed: 1,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	began := time.Now()
	err := Run(ctx, table, f, 4)
	if !errors.Is(err, errFlaky) {
		t.Fatalf("Run: %v, want %v", err, errFlaky)
	}
	if ctx.Err() != nil {
		t.Fatal("Run went on until the test's deadline")
	}
	// The other ranges arrive at once; range 0 is handed back until a
	// stall window has passed without bytes, and a retry wait or two on.
	if d := time.Since(began); d < f.StallWindow || d > f.StallWindow+4*f.RetryWait {
		t.Errorf("Run ended after %v, want one stall window (%v) and a retry wait or two", d, f.StallWindow)
	}
}
