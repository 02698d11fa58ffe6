package engine

import (
	"context"
	"io"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/sync/semaphore"

	"github.com/netfox/netfox/byterange"
	"github.com/netfox/netfox/segment"
)

// Budget is the connections a Client may have open to each host at once,
// shared by all its downloads: a connection is taken from it before a
// request is sent and given back when the attempt ends. It is safe for
// concurrent use.
type Budget struct {
	perHost int64

	mu    sync.Mutex
	hosts map[string]*semaphore.Weighted
}

// NewBudget returns a budget of perHost connections for each host.
func NewBudget(perHost int) *Budget {
	return &Budget{perHost: int64(perHost), hosts: map[string]*semaphore.Weighted{}}
}

// Slots returns the connection budget of rawURL's host (its scheme, host
// and port).
func (b *Budget) Slots(rawURL string) *semaphore.Weighted {
	key := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		key = u.Scheme + "://" + strings.ToLower(u.Host)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.hosts[key]
	if s == nil {
		s = semaphore.NewWeighted(b.perHost)
		b.hosts[key] = s
	}
	return s
}

// hostSlot waits for one connection of slots' budget and returns the
// function that gives it back (once, however often called).
func hostSlot(ctx context.Context, slots *semaphore.Weighted) (func(), error) {
	if err := slots.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { slots.Release(1) }) }, nil
}

// primed is the body of the download's first request, the file's bytes
// [0, end) (end < 0: a stream of unknown length), with the connection
// slot it holds. The segment that starts at zero reads it as its first
// piece instead of asking again (segment.Fetcher.FirstPiece).
type primed struct {
	mu      sync.Mutex
	body    io.ReadCloser // nil once handed on or closed
	end     int64
	release func()
	claimed bool
}

// claim reserves the body for an attempt at r, and reports whether it
// did, with the function that gives its slot back: the attempt takes
// the slot over, for the pieces it asks for after this one.
func (p *primed) claim(r byterange.Range) (func(), bool) {
	if p == nil {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.body == nil || p.claimed || r.Start != 0 {
		return nil, false
	}
	p.claimed = true
	return p.release, true
}

// firstPiece is the end of the bytes the body holds, for
// segment.Fetcher.FirstPiece: 0 when there is no body or its end is not
// known.
func (p *primed) firstPiece() int64 {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.body == nil || p.end < 0 {
		return 0
	}
	return p.end
}

// take hands on the claimed body, limited to r, or returns nil. The
// body was opened before the attempt that reads it: it is closed when
// ctx, the attempt's, ends, as a body the attempt opened would be.
func (p *primed) take(ctx context.Context, r byterange.Range) io.ReadCloser {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.body == nil || !p.claimed || r.Start != 0 {
		return nil
	}
	body := p.body
	p.body = nil
	stop := context.AfterFunc(ctx, func() { body.Close() })
	return &primedBody{r: io.LimitReader(body, r.Len()), body: body, stop: stop}
}

// close drops the body if nobody took it, freeing its slot (unless an
// attempt claimed it, which gives the slot back itself).
func (p *primed) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.body != nil {
		p.body.Close()
		p.body = nil
		if !p.claimed {
			p.release()
		}
	}
}

type primedBody struct {
	r    io.Reader
	body io.Closer
	stop func() bool
}

func (b *primedBody) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *primedBody) Close() error {
	b.stop()
	return b.body.Close()
}

// gate is the segment.Fetcher Gate of a download: the primed body's slot
// for the attempt that reads it, else one of the budget of o's host (a
// mirror's own, the URL's for the rest).
func (d *Downloader) gate(ctx context.Context, r byterange.Range, o segment.Opener) (func(), error) {
	if s, ok := o.(*source); ok && s.slots != nil {
		return hostSlot(ctx, s.slots)
	}
	if release, ok := d.primed.claim(r); ok {
		return release, nil
	}
	return hostSlot(ctx, d.slots)
}
