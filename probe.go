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
func (d *downloader) probeURL(ctx context.Context, rawURL string) (info siteinfo.Info, err error) {
	err = d.retry(ctx, "the first request", func() error {
		info, err = d.client.Probe(ctx, rawURL)
		return err
	})
	return info, err
}

// retry runs a single request until it succeeds, fails for good or has
// failed MaxTries times, waiting between tries as the segments do; what
// names the request in the notices.
func (d *downloader) retry(ctx context.Context, what string, request func() error) error {
	maxTries := d.req.MaxTries
	if maxTries <= 0 {
		maxTries = 5
	}
	for try := 1; ; try++ {
		err := request()
		var netErr *siteinfo.NetError
		unreachable := errors.As(err, &netErr) && netErr.Dial()
		if err == nil || ctx.Err() != nil || segment.IsPermanent(err) || errors.Is(err, siteinfo.ErrBadURL) || unreachable || try >= maxTries {
			return err
		}
		wait := segment.Backoff(try, 0, d.req.RetryWait, err)
		d.notify("retrying %s in %v: %v", what, wait.Round(time.Millisecond), err)
		if err := segment.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}
