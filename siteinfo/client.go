package siteinfo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/netfox/netfox/byterange"
	"github.com/netfox/netfox/internal/safetext"
	"github.com/netfox/netfox/retry"
)

// MaxResponseHeaderBytes bounds the response headers netfox reads (the
// status line and every header together; the transport netfox builds
// sets it): 256 KiB, as Chrome bounds them, under curl's 300 KiB total
// (and 100 KiB per header). net/http's client default is 10 MB, which a
// hostile server may send on every connection of a download. A larger
// answer is ErrBadResponse and not retried.
const MaxResponseHeaderBytes = 256 << 10

// Client probes and fetches HTTP(S) files.
type Client struct {
	// HTTP does the requests; nil means http.DefaultClient. Its transport
	// should not add Accept-Encoding (DisableCompression), since a
	// compressed body has no byte offsets in common with the file.
	HTTP *http.Client
	// Header is added to every request (User-Agent, cookies, auth).
	Header http.Header
	// User and Password are sent when the URL has no credentials: the
	// FTP login (empty means anonymous) and HTTP basic authentication.
	User, Password string
	// Credentials, when set, gives a user and password for a host when
	// neither the URL nor User does (a ~/.netrc lookup).
	Credentials func(host string) (user, password string, ok bool)
	// LocationTrusted sends the credentials (login, Authorization and
	// Cookie headers) to the target of a redirect to another origin too;
	// by default they go only to the origin they were given for.
	LocationTrusted bool
	// AllowInsecureRedirect follows a redirect from https to http, which
	// is refused by default (ErrInsecureRedirect). No credentials are
	// sent over http even then.
	AllowInsecureRedirect bool
}

// credentials returns the login given for the address u: the URL's own,
// else User, else Credentials' for the host; ok is false when there is
// none. Whether it may be sent to a request's target is for
// MaySendCredentials to say.
func (c *Client) credentials(u *url.URL) (user, password string, ok bool) {
	switch {
	case u.User != nil:
		password, _ = u.User.Password()
		return u.User.Username(), password, true
	case c.User != "":
		return c.User, c.Password, true
	case c.Credentials != nil:
		return c.Credentials(u.Hostname())
	}
	return "", "", false
}

// httpClient is the client that does the requests of a download asked
// for at origin: HTTP (or the default client) with the redirect policy of
// checkRedirect, which runs before any CheckRedirect of its own, and
// cookies from its Jar only where MaySendCredentials allows.
func (c *Client) httpClient(origin *url.URL) *http.Client {
	hc := *http.DefaultClient
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	own := hc.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := c.checkRedirect(req, via, origin); err != nil {
			return err
		}
		if own != nil {
			return own(req, via)
		}
		return nil
	}
	if hc.Jar != nil {
		hc.Jar = &originJar{jar: hc.Jar, origin: origin, trusted: c.LocationTrusted}
	}
	return &hc
}

// newRequest builds a request to target for the file asked for at origin
// (the address before redirects; its credentials go to target only as
// MaySendCredentials allows) and returns it with the parsed origin, for
// do. It asks for the file's bytes as they are: "identity" keeps a server
// or proxy from compressing, which would make byte offsets meaningless.
func (c *Client) newRequest(ctx context.Context, method, target, origin string) (*http.Request, *url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, nil, err
	}
	o, err := url.Parse(origin)
	if err != nil || origin == "" {
		o = req.URL
	}
	if req.URL.User != nil && !MaySendCredentials(o, req.URL, c.LocationTrusted) {
		req.URL.User = nil // net/http would send it by itself
	}
	c.addCredentials(req, o)
	req.Header.Set("Accept-Encoding", "identity")
	return req, o, nil
}

// do sends req, a request of a download asked for at origin, describing a
// transport failure as a *NetError.
func (c *Client) do(req *http.Request, origin *url.URL) (*http.Response, error) {
	resp, err := c.httpClient(origin).Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return nil, req.Context().Err()
		}
		var urlErr *url.Error
		if errors.As(err, &urlErr) && IsRedirectRefusal(urlErr.Err) {
			return nil, urlErr.Err
		}
		if strings.Contains(err.Error(), "server response headers exceeded") {
			// net/http's error for a header over the transport's
			// MaxResponseHeaderBytes (it has no sentinel): the same
			// request would get the same headers.
			return nil, retry.Permanent(fmt.Errorf("%w: %s sent response headers of more than %d bytes", ErrBadResponse, req.URL.Host, MaxResponseHeaderBytes))
		}
		return nil, &NetError{Host: req.URL.Host, Err: err}
	}
	return resp, nil
}

// CheckURL reports a URL that netfox cannot fetch, before any request.
func CheckURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ftp" {
		return fmt.Errorf("%w: unsupported scheme %q in %s (use http, https or ftp)", ErrBadURL, u.Scheme, RedactURL(rawURL))
	}
	if u.Host == "" {
		return fmt.Errorf("%w: no host in %s", ErrBadURL, RedactURL(rawURL))
	}
	return nil
}

// Probe asks the remote about the file at rawURL with a GET of its first
// byte (ProbeOpen with a piece of one byte), dropping the byte.
func (c *Client) Probe(ctx context.Context, rawURL string) (Info, error) {
	info, first, err := c.ProbeOpen(ctx, rawURL, 1)
	first.Close()
	return info, err
}

// FirstPiece is the body of the probe's answer kept as the file's first
// bytes: [0, End), or with End < 0 the whole file in one stream of
// unknown length.
type FirstPiece struct {
	Body io.ReadCloser
	End  int64
}

// Close closes the body of a piece nobody read from; a nil FirstPiece is
// already closed. A piece of a few bytes (the first byte, asked for by a
// probe whose bytes are not wanted) is read out first, so that its
// connection is kept: so few that they almost always came with the
// headers.
func (p *FirstPiece) Close() {
	if p == nil {
		return
	}
	if p.End >= 0 && p.End <= closeDrain {
		io.Copy(io.Discard, io.LimitReader(p.Body, closeDrain))
	}
	p.Body.Close()
}

// ProbeOpen asks the remote about the file at rawURL with one GET, the
// download's first: for its first piece bytes (Range: bytes=0-(piece-1)).
// The answer decides (length, validators, ranges; see probeGet) and its
// body, the file from byte 0, is returned for the caller to keep as its
// first bytes, so that the first byte of data comes one round trip after
// the request: no HEAD first (grab's headRequest, aria2 alike). The body
// is nil when the answer cannot serve as the file's bytes (an answer
// labelled with a range that does not start at 0, a content coding not
// confirmed as the file's own). A 200, from a server without ranges, is
// the whole file: its body is the download's one stream.
//
// A HEAD is sent only when the GET's answer carries a Content-Encoding:
// a coding is the file's own (a stored .gz served as gzip) only when HEAD
// labels it so too; on the GET alone it is a proxy compressing on the
// way, and the ranges that carry it are refused (Remote.check).
func (c *Client) ProbeOpen(ctx context.Context, rawURL string, piece int64) (Info, *FirstPiece, error) {
	if err := CheckURL(rawURL); err != nil {
		return Info{}, nil, err
	}
	if u, _ := url.Parse(rawURL); u.Scheme == "ftp" {
		info, err := c.probeFTP(ctx, u)
		return info, nil, err
	}
	info, first, err := c.probeGet(ctx, rawURL, max(piece, 1))
	if err != nil || info.Encoding == "" {
		return info, first, err
	}
	head, headErr := c.probeHead(ctx, rawURL)
	if ctx.Err() != nil {
		first.Close()
		return Info{}, nil, ctx.Err()
	}
	if headErr == nil {
		info.headLength, info.headSaid = head.Length, true
	}
	if headErr != nil || head.Encoding != info.Encoding {
		info.Encoding = ""
		first.Close()
		first = nil
	}
	return info, first, nil
}

func (c *Client) probeHead(ctx context.Context, rawURL string) (Info, error) {
	req, origin, err := c.newRequest(ctx, http.MethodHead, rawURL, rawURL)
	if err != nil {
		return Info{}, err
	}
	resp, err := c.do(req, origin)
	if err != nil {
		return Info{}, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Info{}, newStatusError(resp, time.Now())
	}
	info := infoFrom(resp)
	info.Requested = rawURL
	info.Length = resp.ContentLength
	info.Ranges = acceptsRanges(resp.Header)
	return info, nil
}

// closeDrain is the most a kept first piece reads out when it is closed.
const closeDrain = 4 << 10

// maxDrain bounds the body the probe reads out to keep its connection.
const maxDrain = 64 << 10

// probeGet asks for the first piece bytes of the file (bytes=0-(piece-1)).
// A 206 gives the length in Content-Range and proves range support; a 200
// is the whole file from a server that ignores ranges; a 416 "bytes */0"
// is an empty file. A 206 honestly labelled with another range than the
// one asked for gives the length too, but ranges are then used only when
// it starts at byte 0 and is not the whole file of a file longer than
// the piece (a server that answers every range with the whole file)
// (OpenRange uses what such answers carry).
//
// The body of a 206 from byte 0, limited to the length it announced, and
// that of a 200 are returned: the file's bytes for the caller to keep.
func (c *Client) probeGet(ctx context.Context, rawURL string, piece int64) (Info, *FirstPiece, error) {
	req, origin, err := c.newRequest(ctx, http.MethodGet, rawURL, rawURL)
	if err != nil {
		return Info{}, nil, err
	}
	req.Header.Set("Range", byterange.Range{Start: 0, End: piece}.Header())
	resp, err := c.do(req, origin)
	if err != nil {
		return Info{}, nil, err
	}
	var keep *FirstPiece
	defer func() {
		if keep != nil {
			return
		}
		// A short answer (a 416, a body not kept) is read out so that
		// its connection is kept for the first range; closing without
		// draining drops the connection, and a long body is not worth
		// reading to keep it.
		if resp.ContentLength >= 0 && resp.ContentLength <= maxDrain {
			io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		}
		resp.Body.Close()
	}()
	info := infoFrom(resp)
	info.Requested = rawURL
	switch resp.StatusCode {
	case http.StatusPartialContent:
		cr, err := byterange.ParseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || cr.Complete < 0 {
			info.Length, info.Ranges = -1, false
			return info, nil, nil
		}
		all := cr.Start == 0 && cr.End == cr.Complete && cr.Complete > piece
		info.Length, info.Ranges = cr.Complete, cr.Start == 0 && !all
		if cr.Start == 0 && (resp.ContentLength < 0 || resp.ContentLength == cr.Len()) {
			keep = &FirstPiece{Body: &limitedBody{r: io.LimitReader(resp.Body, cr.Len()), c: resp.Body}, End: cr.End}
		}
	case http.StatusOK:
		// An empty file has no range to ask for: some servers (Go's
		// among them) answer 200 rather than 416 for it.
		info.Length, info.Ranges = resp.ContentLength, resp.ContentLength == 0
		keep = &FirstPiece{Body: resp.Body, End: resp.ContentLength}
	case http.StatusRequestedRangeNotSatisfiable:
		if resp.Header.Get("Content-Range") != "bytes */0" {
			return Info{}, nil, newStatusError(resp, time.Now())
		}
		info.Length, info.Ranges = 0, true
	default:
		return Info{}, nil, newStatusError(resp, time.Now())
	}
	return info, keep, nil
}

// limitedBody reads at most what the Content-Range announced.
type limitedBody struct {
	r io.Reader
	c io.Closer
}

func (b *limitedBody) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b *limitedBody) Close() error               { return b.c.Close() }

func infoFrom(resp *http.Response) Info {
	final := resp.Request.URL
	return Info{
		URL:          final.String(),
		Length:       -1,
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		Filename:     Filename(resp.Header.Get("Content-Disposition"), final),
		Encoding:     contentEncoding(resp.Header),
	}
}

// contentEncoding is the Content-Encoding of an answer, "" for none or
// identity.
func contentEncoding(h http.Header) string {
	ce := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding")))
	if ce == "identity" {
		return ""
	}
	return ce
}

// checkEncoding refuses an answer whose content coding is not the file's
// own (Info.Encoding): one that a server or proxy applied on the way, to
// this answer only, has no byte offsets in common with the file.
func (rm *Remote) checkEncoding(resp *http.Response, what string) error {
	ce := contentEncoding(resp.Header)
	switch {
	case ce == rm.Info.Encoding:
		return nil
	case ce == "":
		return retry.Permanent(fmt.Errorf("%w: %s came without the Content-Encoding %q of the probe", ErrBadResponse, what, rm.Info.Encoding))
	}
	return retry.Permanent(fmt.Errorf("%w: %s came with Content-Encoding %q", ErrBadResponse, what, resp.Header.Get("Content-Encoding")))
}

func acceptsRanges(h http.Header) bool {
	for _, v := range h.Values("Accept-Ranges") {
		for _, unit := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(unit), "bytes") {
				return true
			}
		}
	}
	return false
}

// Remote fetches ranges of one version of a file. It implements
// segment.Opener.
type Remote struct {
	Client *Client
	Info   Info
}

// OpenRange requests r of the file, pinned to Info's version by If-Range,
// and returns the body only when the answer is exactly that range of that
// version: status 206, Content-Range equal to r and the known length, a
// Content-Length that agrees, and no content coding. Anything else is an
// error and its body is never read.
func (rm *Remote) OpenRange(ctx context.Context, r byterange.Range) (io.ReadCloser, error) {
	if rm.isFTP() {
		return rm.openFTP(ctx, r)
	}
	req, origin, err := rm.Client.newRequest(ctx, http.MethodGet, rm.Info.URL, rm.Info.Requested)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Range", r.Header())
	if v := rm.Info.IfRange(); v != "" {
		req.Header.Set("If-Range", v)
	}
	resp, err := rm.Client.do(req, origin)
	if err != nil {
		return nil, err
	}
	body, err := rm.check(resp, r)
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	return body, nil
}

// maxSkip bounds the bytes read and dropped from an answer labelled with
// a range that starts before the one asked for; a server whose ranges
// start farther off is better read in one stream.
const maxSkip = 1 << 20

// check returns the body of resp when it holds r, or the part of r at
// its start: an answer honestly labelled with another range that covers
// r's first byte is used from there, its bytes at their labelled
// offsets. One that cannot be used so is ErrRangeNotSupported, for a
// fall-back to one stream.
func (rm *Remote) check(resp *http.Response, r byterange.Range) (io.ReadCloser, error) {
	if err := rm.checkStatus(resp, r); err != nil {
		return nil, err
	}
	cr, _ := byterange.ParseContentRange(resp.Header.Get("Content-Range"))
	if cr.Range == r {
		return resp.Body, nil
	}
	if cr.Start > r.Start || cr.End <= r.Start || r.Start-cr.Start > maxSkip {
		return nil, retry.Permanent(fmt.Errorf("%w: asked for %s, got Content-Range %q", ErrRangeNotSupported, r.Header(), resp.Header.Get("Content-Range")))
	}
	if _, err := io.CopyN(io.Discard, resp.Body, r.Start-cr.Start); err != nil {
		return nil, fmt.Errorf("reading range %s up to byte %d: %w", resp.Header.Get("Content-Range"), r.Start, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(resp.Body, min(cr.End, r.End)-r.Start), resp.Body}, nil
}

// checkStatus checks everything of an answer to a request for r but the
// range it carries: status, version, content coding, a well-formed
// Content-Range with the known length, and a Content-Length that agrees.
func (rm *Remote) checkStatus(resp *http.Response, r byterange.Range) error {
	switch resp.StatusCode {
	case http.StatusPartialContent:
	case http.StatusOK:
		// A whole file in answer to If-Range + Range: either the file
		// changed, or the server ignores ranges. The validators tell
		// which; without validators we cannot know, so assume the worse.
		got := infoFrom(resp)
		got.Length = resp.ContentLength
		if CompareVersions(rm.Info, got) == VersionChanged {
			return retry.Permanent(fmt.Errorf("%w: asked for %s of the version with %s, got the whole file of another", ErrRemoteChanged, r.Header(), rm.validatorName()))
		}
		return retry.Permanent(fmt.Errorf("%w: asked for %s, got the whole file (200)", ErrRangeNotSupported, r.Header()))
	case http.StatusRequestedRangeNotSatisfiable:
		// The range lies outside the file: it got shorter.
		return retry.Permanent(fmt.Errorf("%w: %s is beyond its end now (416, Content-Range %q)", ErrRemoteChanged, r.Header(), resp.Header.Get("Content-Range")))
	default:
		return newStatusError(resp, time.Now())
	}
	if err := rm.checkEncoding(resp, "range "+r.Header()); err != nil {
		return err
	}
	cr, err := byterange.ParseContentRange(resp.Header.Get("Content-Range"))
	if err != nil {
		return retry.Permanent(fmt.Errorf("%w: range %s: %v", ErrBadResponse, r.Header(), err))
	}
	if cr.Complete >= 0 && cr.Complete != rm.Info.Length {
		return retry.Permanent(fmt.Errorf("%w: length is %d now, was %d", ErrRemoteChanged, cr.Complete, rm.Info.Length))
	}
	if cr.End > rm.Info.Length {
		return retry.Permanent(fmt.Errorf("%w: asked for %s, got Content-Range %q beyond the end of the file", ErrBadResponse, r.Header(), resp.Header.Get("Content-Range")))
	}
	if resp.ContentLength >= 0 && resp.ContentLength != cr.Len() {
		return retry.Permanent(fmt.Errorf("%w: range %s of %d bytes came with Content-Length %d", ErrBadResponse, resp.Header.Get("Content-Range"), cr.Len(), resp.ContentLength))
	}
	return nil
}

func (rm *Remote) isFTP() bool { return strings.HasPrefix(rm.Info.URL, "ftp://") }

func (rm *Remote) validatorName() string {
	if rm.Info.StrongETag() {
		return "ETag " + safetext.Escape(rm.Info.ETag)
	}
	return "Last-Modified " + safetext.Escape(rm.Info.LastModified)
}

// OpenStream requests the whole file without a range, for servers that do
// not serve ranges. The caller counts the bytes: when the length is known,
// a body of another length is an error.
func (rm *Remote) OpenStream(ctx context.Context) (io.ReadCloser, error) {
	if rm.isFTP() {
		return rm.openFTP(ctx, byterange.Range{Start: 0, End: -1})
	}
	req, origin, err := rm.Client.newRequest(ctx, http.MethodGet, rm.Info.URL, rm.Info.Requested)
	if err != nil {
		return nil, err
	}
	resp, err := rm.Client.do(req, origin)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, newStatusError(resp, time.Now())
	}
	if err := rm.checkEncoding(resp, "the file"); err != nil {
		resp.Body.Close()
		return nil, err
	}
	got := infoFrom(resp)
	got.Length = resp.ContentLength
	if CompareVersions(rm.Info, got) == VersionChanged {
		resp.Body.Close()
		return nil, retry.Permanent(fmt.Errorf("%w between the probe and the download", ErrRemoteChanged))
	}
	return resp.Body, nil
}
