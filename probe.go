package netfox

import (
	"context"
	"errors"
	"time"

	"github.com/netfox/netfox/segment"
	"github.com/netfox/netfox/siteinfo"
)

// probe asks the remote about the file, retrying transient failures (a
// 503, a reset) as the segments do. A host that cannot be reached at all
// is reported at once: on the first request that is most often a typo,
// not an outage.
func (d *downloader) probe(ctx context.Context) (siteinfo.Info, error) {
	return d.probeURL(ctx, d.req.URL)
}

// probeURL is probe for any address of the file.
func (d *downloader) probeURL(ctx context.Context, rawURL string) (siteinfo.Info, error) {
	maxTries := d.req.MaxTries
	if maxTries <= 0 {
		maxTries = 5
	}
	for try := 1; ; try++ {
		info, err := d.client.Probe(ctx, rawURL)
		var netErr *siteinfo.NetError
		unreachable := errors.As(err, &netErr) && netErr.Dial()
		if err == nil || ctx.Err() != nil || segment.IsPermanent(err) || errors.Is(err, siteinfo.ErrBadURL) || unreachable || try >= maxTries {
			return info, err
		}
		wait := segment.Backoff(try, 0, d.req.RetryWait, err)
		d.notify("retrying the first request in %v: %v", wait.Round(time.Millisecond), err)
		if err := segment.Sleep(ctx, wait); err != nil {
			return info, err
		}
	}
}
