package siteinfo

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/netfox/netfox/segment"
)

// ProbeOpen is Probe by the download's first request: a GET of
// "Range: bytes=0-". The answer gives the length, the validators and
// range support, and its body, when there is one, is the file from byte
// zero: the caller reads it as its first segment instead of asking
// again, so a small file costs one request. The body is nil for an empty
// file, for FTP (probed as by Probe), and when the answer could not say
// (then a HEAD asked instead). The caller closes a non-nil body.
//
// The answer is checked before its body is handed on: a 206 must carry a
// Content-Range starting at zero, with the complete length, and a
// Content-Length that agrees; any content coding makes the length
// unknown (a compressed body has no offsets in common with the file).
func (c *Client) ProbeOpen(ctx context.Context, rawURL string) (Info, io.ReadCloser, error) {
	if err := CheckURL(rawURL); err != nil {
		return Info{}, nil, err
	}
	if u, _ := url.Parse(rawURL); u.Scheme == "ftp" {
		info, err := c.probeFTP(ctx, u)
		return info, nil, err
	}
	req, origin, err := c.newRequest(ctx, http.MethodGet, rawURL, rawURL)
	if err != nil {
		return Info{}, nil, err
	}
	req.Header.Set("Range", "bytes=0-")
	resp, err := c.do(req, origin)
	if err != nil {
		return Info{}, nil, err
	}
	info := infoFrom(resp)
	info.Requested = rawURL
	coded := false
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		coded = true
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		cr, err := segment.ParseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || cr.Start != 0 || cr.Complete < 0 || coded ||
			(resp.ContentLength >= 0 && resp.ContentLength != cr.Len()) {
			// The answer cannot say how long the file is: ask HEAD.
			resp.Body.Close()
			if ctx.Err() != nil {
				return Info{}, nil, ctx.Err()
			}
			info, err := c.probeHead(ctx, rawURL)
			if err != nil {
				return Info{}, nil, err
			}
			if info.Length < 0 {
				info.Ranges = false
			}
			return info, nil, nil
		}
		info.Length, info.Ranges = cr.Complete, true
		return info, &limitedBody{r: io.LimitReader(resp.Body, cr.Len()), c: resp.Body}, nil
	case http.StatusOK:
		// The whole file: the server ignored the range, whatever its
		// Accept-Ranges says.
		info.Length = resp.ContentLength
		info.Ranges = false
		if info.Length == 0 {
			// An empty file: nothing to range over, nothing to read.
			info.Ranges = true
			resp.Body.Close()
			return info, nil, nil
		}
		if coded {
			info.Length, info.Ranges = -1, false
			resp.Body.Close()
			return info, nil, nil
		}
		return info, resp.Body, nil
	case http.StatusRequestedRangeNotSatisfiable:
		resp.Body.Close()
		if resp.Header.Get("Content-Range") != "bytes */0" {
			return Info{}, nil, newStatusError(resp, time.Now())
		}
		info.Length, info.Ranges = 0, true
		return info, nil, nil
	default:
		resp.Body.Close()
		return Info{}, nil, newStatusError(resp, time.Now())
	}
}

// limitedBody reads at most what the Content-Range announced.
type limitedBody struct {
	r io.Reader
	c io.Closer
}

func (b *limitedBody) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b *limitedBody) Close() error               { return b.c.Close() }
