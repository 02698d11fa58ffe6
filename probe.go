package netfox

import (
	"context"
	"errors"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
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
		info, err = d.probeOnce(ctx, rawURL)
		return err
	})
	if head, ok := info.HeadContradicted(); err == nil && ok {
		d.notify("%s: HEAD said %d bytes, a GET serves %d; trusting the GET", info.URL, head, info.Length)
	}
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

// The first request of a download (HTTP or HTTPS) has no other
// connection to be judged by, so it keeps its absolute limits and is not
// cut. But a connection that went silent for good (a dead node behind a
// balancer, a path that drops everything) would cost the whole
// response-header timeout, so when its answer takes hedgeFactor times
// what setting up its connection took (DNS, TCP, TLS: round trips on this
// path), and at least hedgeFloor, another request is sent beside it, and
// so on up to probeHedges more. Whichever answers first is used and the
// others are abandoned; a server that is merely slow costs a request or
// two more.
const (
	hedgeFactor = 4
	hedgeFloor  = 250 * time.Millisecond
)

// probeHedges is how many requests a probe may send beside the first one
// (see probeOnce); NewHTTPClient allows as many connections more.
const probeHedges = 2

// probeOnce is one probe of rawURL, hedged (not for FTP, whose login may
// take long and whose servers count connections).
func (d *downloader) probeOnce(ctx context.Context, rawURL string) (siteinfo.Info, error) {
	if strings.HasPrefix(strings.ToLower(rawURL), "ftp:") {
		return d.client.Probe(ctx, rawURL)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // abandons the requests that lost
	type result struct {
		info siteinfo.Info
		err  error
	}
	results := make(chan result, 1+probeHedges)
	send := func(ctx context.Context) {
		info, err := d.client.Probe(ctx, rawURL)
		results <- result{info, err}
	}
	// The hedges' delay, known once the first request is written.
	delay := make(chan time.Duration, 1)
	var getConn, setup atomic.Int64
	go send(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GetConn: func(string) { getConn.Store(time.Now().UnixNano()) },
		GotConn: func(httptrace.GotConnInfo) { setup.Store(time.Now().UnixNano() - getConn.Load()) },
		WroteRequest: func(httptrace.WroteRequestInfo) {
			select {
			case delay <- max(hedgeFloor, hedgeFactor*time.Duration(setup.Load())):
			default: // a later request (a redirect's): the first one set the clock
			}
		},
	}))
	wait, hedge := delay, (<-chan time.Time)(nil)
	for sent := 1; ; {
		select {
		case r := <-results:
			return r.info, r.err
		case every := <-wait:
			wait = nil
			t := time.NewTicker(every)
			defer t.Stop()
			hedge = t.C
		case <-hedge:
			go send(ctx)
			if sent++; sent > probeHedges {
				hedge = nil
			}
		}
	}
}
