package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptrace"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/netfox/netfox/retry"
	"github.com/netfox/netfox/siteinfo"
)

// probeFirst asks the remote about the file with the download's first
// request, a GET of its first piece (MinSplit bytes from byte zero,
// siteinfo.Client.ProbeOpen), whose body is kept in d.primed for the
// segment that starts there: the first byte of data comes one round trip
// after the first request, and a file no larger than a piece costs one
// request. The request waits for a connection of the host's budget; the
// body keeps it until it is read or dropped.
//
// A download that is likely to resume or re-check (its output or .info
// is there, see partialThere), that takes over a partial file (Continue)
// or that has mirrors asks for the first byte only: its first bytes would
// not be read.
func (d *Downloader) probeFirst(ctx context.Context) (siteinfo.Info, error) {
	d.primed.close()
	d.primed = nil
	if len(d.req.Mirrors) > 0 || d.req.Continue || d.partialThere() {
		return d.probeURL(ctx, d.req.URL)
	}
	info, first, release, err := d.probe(ctx, d.req.URL, d.req.MinSplit)
	if first != nil {
		d.primed = &primed{body: first.Body, end: first.End, release: release}
	}
	return info, err
}

// probeURL asks the remote at rawURL about the file (a mirror's), without
// keeping any of its bytes.
func (d *Downloader) probeURL(ctx context.Context, rawURL string) (siteinfo.Info, error) {
	info, first, release, err := d.probe(ctx, rawURL, 1)
	if first != nil {
		first.Close()
		release()
	}
	return info, err
}

// probe asks the remote at rawURL about the file with a GET of its first
// piece bytes, retrying transient failures (a 503, a reset) as the
// segments do, each try on a connection of the host's budget. When the
// answer's body is returned (see siteinfo.Client.ProbeOpen), release
// gives its connection back once the body is done with.
func (d *Downloader) probe(ctx context.Context, rawURL string, piece int64) (info siteinfo.Info, first *siteinfo.FirstPiece, release func(), err error) {
	err = d.retry(ctx, "the first request", func() error {
		var err error
		if release, err = hostSlot(ctx, d.slots); err != nil {
			return err
		}
		info, first, err = d.probeOnce(ctx, rawURL, piece)
		if first == nil {
			release()
		}
		return err
	})
	if head, ok := info.HeadContradicted(); err == nil && ok {
		d.notify(EventHeadContradicted, "%s: HEAD said %d bytes, a GET serves %d; trusting the GET", info.URL, head, info.Length)
	}
	return info, first, release, err
}

// retry runs a single request until it succeeds, fails for good or has
// failed MaxTries times, waiting between tries as the segments do; what
// names the request in the notices. A host that cannot be reached at all
// is reported at once: on the first request that is most often a typo,
// not an outage (unless the cause is local, such as too many open files).
func (d *Downloader) retry(ctx context.Context, what string, request func() error) error {
	maxTries := d.req.MaxTries
	for try := 1; ; try++ {
		err := request()
		var netErr *siteinfo.NetError
		unreachable := errors.As(err, &netErr) && netErr.Dial() && !LocalPressure(err)
		if err == nil || ctx.Err() != nil || retry.IsPermanent(err) || errors.Is(err, siteinfo.ErrBadURL) || unreachable || try >= maxTries {
			return err
		}
		wait := retry.Backoff(try, 0, d.req.RetryWait, err)
		d.event(Event{Kind: EventRetry, Offset: -1, Wait: wait, Err: err,
			Text: fmt.Sprintf("retrying %s in %v: %v", what, wait.Round(time.Millisecond), err)})
		if err := retry.Sleep(ctx, wait); err != nil {
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
// so on up to ProbeHedges more. Whichever answers first is used and the
// others are abandoned; a server that is merely slow costs a request or
// two more.
const (
	hedgeFactor = 4
	hedgeFloor  = 250 * time.Millisecond
)

// ProbeHedges is how many requests a probe may send beside the first one
// (see probeOnce); NewHTTPClient allows as many connections more.
const ProbeHedges = 2

// probeOnce is one probe of rawURL (siteinfo.Client.ProbeOpen with
// piece), hedged (not for FTP, whose login may take long and whose
// servers count connections). The winner's body, if any, is returned;
// the losers' are closed.
func (d *Downloader) probeOnce(ctx context.Context, rawURL string, piece int64) (siteinfo.Info, *siteinfo.FirstPiece, error) {
	if strings.HasPrefix(strings.ToLower(rawURL), "ftp:") {
		return d.client.ProbeOpen(ctx, rawURL, piece)
	}
	type result struct {
		info siteinfo.Info
		body *siteinfo.FirstPiece
		err  error
		id   int // index in cancels
	}
	results := make(chan result, 1+ProbeHedges)
	var cancels []context.CancelFunc
	// send makes one request in a context of its own: the winner's body
	// is read after this call returns, the losers' are abandoned.
	send := func(ctx context.Context) {
		ctx, cancel := context.WithCancel(ctx)
		id := len(cancels)
		cancels = append(cancels, cancel)
		go func() {
			info, body, err := d.client.ProbeOpen(ctx, rawURL, piece)
			results <- result{info, body, err, id}
		}()
	}
	// The hedges' delay, known once the first request is written.
	delay := make(chan time.Duration, 1)
	var getConn, setup atomic.Int64
	send(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
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
	for {
		select {
		case r := <-results:
			// The others are cancelled, and each still reports: a body
			// one got anyway is closed. The winner's context ends with
			// its body.
			for i, cancel := range cancels {
				if i != r.id || r.body == nil {
					cancel()
				}
			}
			go func(losers int) {
				for range losers {
					if l := <-results; l.body != nil {
						l.body.Close()
					}
				}
			}(len(cancels) - 1)
			if r.body == nil {
				return r.info, nil, r.err
			}
			r.body.Body = &cancelOnClose{ReadCloser: r.body.Body, cancel: cancels[r.id]}
			return r.info, r.body, r.err
		case every := <-wait:
			wait = nil
			t := time.NewTicker(every)
			defer t.Stop()
			hedge = t.C
		case <-hedge:
			send(ctx)
			if len(cancels) > ProbeHedges {
				hedge = nil
			}
		}
	}
}

// partialThere reports whether the output, named or as the URL would name
// it, is already there (a finished file to check) or has a .info beside
// it (a partial download to resume): then the first bytes would not be
// read.
func (d *Downloader) partialThere() bool {
	out := d.req.Output
	if out == "" {
		u, err := url.Parse(d.req.URL)
		if err != nil {
			return false
		}
		out = filepath.Join(d.req.Dir, siteinfo.Filename("", u))
	}
	for _, p := range []string{out, pathsOf(out).info} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// cancelOnClose ends a request's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
