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

// Probe asks the remote about the file at rawURL. It sends HEAD, then a
// GET of the first byte, which decides: a HEAD answer is only a hint
// (some servers mishandle HEAD, give a length of 0 or of another version,
// or leave Accept-Ranges out), and its length counts only once a GET
// confirms it. A GET that contradicts it wins (see HeadContradicted).
func (c *Client) Probe(ctx context.Context, rawURL string) (Info, error) {
	info, body, err := c.ProbeOpen(ctx, rawURL, 0)
	if body != nil {
		body.Close()
	}
	return info, err
}

// ProbeOpen is Probe that, when HEAD says the file is at most small bytes
// long (and not empty), asks the GET for the whole file instead of its
// first byte and returns the answer's body, the file from byte 0 to its
// end, for the caller to read as its first segment: a small file then
// costs two requests in all. The body is nil when the answer cannot serve
// as the file's bytes (no HEAD, a larger file, an answer labelled with
// another range, a content coding HEAD did not announce, no ranges).
// Larger files are asked for one byte, which alone shows a server that
// answers every range with the whole file.
func (c *Client) ProbeOpen(ctx context.Context, rawURL string, small int64) (Info, io.ReadCloser, error) {
	if err := CheckURL(rawURL); err != nil {
		return Info{}, nil, err
	}
	if u, _ := url.Parse(rawURL); u.Scheme == "ftp" {
		info, err := c.probeFTP(ctx, u)
		return info, nil, err
	}
	head, headErr := c.probeHead(ctx, rawURL)
	if ctx.Err() != nil {
		return Info{}, nil, ctx.Err()
	}
	whole := headErr == nil && head.Length > 0 && head.Length <= small
	info, body, err := c.probeGet(ctx, rawURL, whole)
	if err == nil && whole && body == nil && info.Length != 0 {
		// The whole file did not come as asked (a range labelled
		// otherwise, no ranges): the first byte alone shows the rest.
		info, _, err = c.probeGet(ctx, rawURL, false)
	}
	if err != nil {
		return Info{}, nil, err
	}
	if headErr == nil {
		info.headLength, info.headSaid = head.Length, true
	}
	// A content coding is the file's own only when HEAD and GET both
	// label it so; on a range alone it is a proxy compressing on the way,
	// refused by OpenRange and OpenStream.
	if headErr != nil || head.Encoding != info.Encoding {
		info.Encoding = ""
		if body != nil {
			body.Close()
			body = nil
		}
	}
	return info, body, nil
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
	info.rangesRefused = strings.EqualFold(strings.TrimSpace(resp.Header.Get("Accept-Ranges")), "none")
	return info, nil
}

// maxDrain bounds the body the probe reads out to keep its connection.
const maxDrain = 64 << 10

// probeGet asks for the first byte, or with whole for all of the file
// (bytes=0-). A 206 gives the length in Content-Range and proves range
// support; a 200 is the whole file from a server that ignores ranges; a
// 416 "bytes */0" is an empty file. A 206 honestly labelled with another
// range than the one asked for gives the length too, but ranges are then
// used only when it starts at byte 0 and, for a first byte asked, is not
// the whole file (OpenRange uses what such answers carry).
//
// With whole, the body of a 206 from byte 0 is returned, limited to the
// length it announced: the file's bytes for the caller to keep.
func (c *Client) probeGet(ctx context.Context, rawURL string, whole bool) (Info, io.ReadCloser, error) {
	req, origin, err := c.newRequest(ctx, http.MethodGet, rawURL, rawURL)
	if err != nil {
		return Info{}, nil, err
	}
	if whole {
		req.Header.Set("Range", "bytes=0-")
	} else {
		req.Header.Set("Range", "bytes=0-0")
	}
	resp, err := c.do(req, origin)
	if err != nil {
		return Info{}, nil, err
	}
	var keep io.ReadCloser
	defer func() {
		if keep != nil {
			return
		}
		// A short answer (the one byte asked for, a 416) is read out so
		// that its connection is kept for the first range; closing
		// without draining drops the connection, and a full body of an
		// unranged answer is not worth reading to keep it.
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
		all := cr.Start == 0 && cr.End == cr.Complete && cr.Complete > 1
		info.Length, info.Ranges = cr.Complete, cr.Start == 0 && (whole || !all)
		if whole && info.Ranges && (resp.ContentLength < 0 || resp.ContentLength == cr.Len()) {
			keep = &limitedBody{r: io.LimitReader(resp.Body, cr.Len()), c: resp.Body}
		}
	case http.StatusOK:
		// An empty file has no range to ask for: some servers (Go's
		// among them) answer 200 rather than 416 for it.
		info.Length, info.Ranges = resp.ContentLength, resp.ContentLength == 0
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
