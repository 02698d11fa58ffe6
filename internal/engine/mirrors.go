package engine

import (
	"context"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sync/semaphore"

	"github.com/netfox/netfox/byterange"
	"github.com/netfox/netfox/segment"
	"github.com/netfox/netfox/siteinfo"
)

// source is one address of the file in a download: how to reach it (its
// Remote, the connection budget of its host, the first request's answer
// for URL). What it served is counted by the scheduler, in its
// segment.Mirror, where the total is counted.
type source struct {
	url    string // redacted, for messages
	raw    string // a mirror's address as given; empty for URL
	remote *siteinfo.Remote
	// primed, for URL, is the first request's answer, read by the
	// segment at byte zero.
	primed *primed
	// slots is the connection budget of a mirror's host; nil for URL,
	// whose budget is the download's.
	slots *semaphore.Weighted
	// mirror is the source in the scheduler when there are several.
	mirror *segment.Mirror
}

// OpenRange opens a range of the source.
func (s *source) OpenRange(ctx context.Context, r byterange.Range) (io.ReadCloser, error) {
	if body := s.primed.take(ctx, r); body != nil {
		return body, nil
	}
	return s.remote.OpenRange(ctx, r)
}

// probeMirrors returns the sources of a ranged download: URL first, then
// each mirror that answers with the same length and serves ranges. A
// mirror of another length is refused outright: it holds another file.
func (d *Downloader) probeMirrors(ctx context.Context, info siteinfo.Info) ([]*source, error) {
	sources := []*source{{url: siteinfo.RedactURL(d.req.URL), remote: &siteinfo.Remote{Client: d.client, Info: info}, primed: d.primed}}
	if len(d.req.Mirrors) == 0 {
		return sources, nil
	}
	infos := make([]siteinfo.Info, len(d.req.Mirrors))
	errs := make([]error, len(d.req.Mirrors))
	var wg sync.WaitGroup
	for i, m := range d.req.Mirrors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			infos[i], errs[i] = d.probeURL(ctx, m)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	differentValidators := false
	for i, m := range d.req.Mirrors {
		m := siteinfo.RedactURL(m)
		switch mi := infos[i]; {
		case errs[i] != nil:
			d.event(Event{Kind: EventMirrorUnusable, URL: m, Err: errs[i], Text: fmt.Sprintf("mirror %s is unusable (%v); going on without it", m, errs[i])})
		case mi.Length != info.Length:
			return nil, fmt.Errorf("%w: %s has %d bytes but %s has %d; they are not the same file", ErrMirrorMismatch, m, mi.Length, siteinfo.RedactURL(d.req.URL), info.Length)
		case !mi.Ranges:
			d.event(Event{Kind: EventMirrorNoRanges, URL: m, Text: fmt.Sprintf("mirror %s does not serve byte ranges; going on without it", m)})
		default:
			if !siteinfo.CompareVersions(info, mi).Same() {
				differentValidators = true
			}
			sources = append(sources, &source{url: m, raw: d.req.Mirrors[i], remote: &siteinfo.Remote{Client: d.client, Info: mi}, slots: d.budget.Slots(d.req.Mirrors[i])})
		}
	}
	if differentValidators && d.req.Checksum == nil {
		d.notify(EventMirrorsUnproven, "the mirrors give different ETag or Last-Modified values, so only their length shows they hold the same file; a checksum would prove the result")
	}
	return sources, nil
}

// useSources points the fetcher at the sources and records them in res.
func (d *Downloader) useSources(f *segment.Fetcher, sources []*source) {
	f.Opener = sources[0]
	f.Mirrors = nil
	if len(sources) > 1 {
		for _, s := range sources {
			s.mirror = &segment.Mirror{Opener: s}
			f.Mirrors = append(f.Mirrors, s.mirror)
		}
	}
	d.sources = sources
	d.req.Progress.useSources(sources)
}
