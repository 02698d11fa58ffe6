// Package siteinfo learns what a remote says about a file (length,
// validators, range support, final URL, a safe file name) and opens byte
// ranges of it, checking every answer against what was asked before a byte
// of its body is handed on.
//
// It is part of netfox's engine, not its stable API (package netfox):
// its exported names may change between versions.
package siteinfo

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/netfox/netfox/internal/safetext"
)

// Info is what a probe learned about a remote file.
type Info struct {
	// URL is the address after redirects; ranges are fetched from it.
	URL string
	// Requested is the address asked for, before redirects: the
	// credentials of the download belong to its origin, and go to URL
	// only when MaySendCredentials allows. Empty means URL.
	Requested string
	// Length is the file's size in bytes, or -1 when the server did not say.
	Length int64
	// Ranges reports whether the server said it serves byte ranges
	// (Accept-Ranges: bytes, or a 206 to the probe).
	Ranges bool
	// ETag is the entity tag as sent, quotes and any W/ prefix included.
	ETag string
	// LastModified is the Last-Modified header as sent.
	LastModified string
	// Filename is a safe base name for the output, never empty.
	Filename string
	// Encoding is the Content-Encoding the server labels the file with on
	// the probe's HEAD and GET alike ("" for none): a stored .gz served
	// as "gzip". Its bytes are the file; every range must carry the same
	// label, and is saved as served.
	Encoding string

	// headLength is the length HEAD claimed (-1 for none), kept when a
	// GET contradicts it; headSaid is set when HEAD answered at all (it
	// is sent only to confirm a Content-Encoding: see ProbeOpen).
	headLength int64
	headSaid   bool
}

// HeadContradicted reports the length a HEAD answer claimed when the GET
// that confirms it served another: the GET is what is downloaded.
func (i Info) HeadContradicted() (headLength int64, ok bool) {
	return i.headLength, i.headSaid && i.headLength >= 0 && i.headLength != i.Length
}

// StrongETag reports whether the ETag can be used in If-Range: RFC 9110
// section 13.1.5 forbids weak tags there.
func (i Info) StrongETag() bool {
	return i.ETag != "" && !strings.HasPrefix(i.ETag, "W/")
}

// IfRange is the If-Range value that pins range requests to this version
// of the file: the strong ETag if there is one, else Last-Modified, else ""
// (the version cannot be pinned).
func (i Info) IfRange() string {
	if i.StrongETag() {
		return i.ETag
	}
	return i.LastModified
}

// Validated reports whether the file carries a validator that a later
// request can be checked against.
func (i Info) Validated() bool { return i.IfRange() != "" }

// Verdict is what the validators of two answers about a file show:
// the same version, another one, or nothing either way.
type Verdict int

const (
	// VersionUnknown: no validator that both answers carry decides.
	VersionUnknown Verdict = iota
	// VersionSameETag: both carry the same strong ETag.
	VersionSameETag
	// VersionSameLastModified: no strong ETag decides, and both carry
	// the same Last-Modified (to the second).
	VersionSameLastModified
	// VersionChanged: the lengths, the ETags or the Last-Modified dates
	// that both carry differ.
	VersionChanged
)

// Same reports whether the verdict is one of the "same version" ones.
func (v Verdict) Same() bool { return v == VersionSameETag || v == VersionSameLastModified }

func (v Verdict) String() string {
	switch v {
	case VersionSameETag:
		return "same ETag"
	case VersionSameLastModified:
		return "same Last-Modified"
	case VersionChanged:
		return "changed"
	}
	return "unknown"
}

// CompareVersions compares what two answers say about a file, by the
// rules of RFC 9110:
//   - a validator is compared only where both answers carry it: a 206
//     repeats only ETag and Content-Location (section 15.3.7), so a
//     Last-Modified that one answer leaves out is no change;
//   - two known lengths that differ are a change;
//   - two strong ETags decide (section 8.8.3.2, strong comparison): equal
//     is the same version whatever the dates, different is a change;
//   - a weak ETag proves no byte is the same (it never matches for a
//     range, section 13.1.5), but two tags that differ even by weak
//     comparison are a change;
//   - otherwise Last-Modified, compared to the second, decides where both
//     carry it (section 8.8.2).
func CompareVersions(a, b Info) Verdict {
	if a.Length >= 0 && b.Length >= 0 && a.Length != b.Length {
		return VersionChanged
	}
	if a.ETag != "" && b.ETag != "" {
		switch {
		case a.StrongETag() && b.StrongETag() && a.ETag == b.ETag:
			return VersionSameETag
		case a.StrongETag() && b.StrongETag():
			return VersionChanged
		case strings.TrimPrefix(a.ETag, "W/") != strings.TrimPrefix(b.ETag, "W/"):
			return VersionChanged
		}
	}
	if a.LastModified != "" && b.LastModified != "" {
		if sameTime(a.LastModified, b.LastModified) {
			return VersionSameLastModified
		}
		return VersionChanged
	}
	return VersionUnknown
}

// SameVersion reports whether other describes the same version of the file
// as i by CompareVersions: a validator both carry says so.
func (i Info) SameVersion(other Info) bool {
	return CompareVersions(i, other).Same()
}

// sameTime compares two HTTP dates at the one-second resolution they have,
// falling back to string equality when either does not parse.
func sameTime(a, b string) bool {
	if a == b {
		return true
	}
	ta, errA := http.ParseTime(a)
	tb, errB := http.ParseTime(b)
	return errA == nil && errB == nil && ta.Equal(tb)
}

// StatusError is an HTTP answer with a status that is not the one asked for.
type StatusError struct {
	Code   int
	Status string // as sent, e.g. "404 Not Found"
	URL    string
	// retryAfter is the server's Retry-After advice, zero when absent.
	retryAfter time.Duration
	// ftp is the FTP command refused, empty for HTTP.
	ftp string
	// file is the path of the file the FTP command was about, empty
	// when it was about the session (login, TYPE).
	file string
}

func (e *StatusError) Error() string {
	if e.ftp != "" && e.file != "" && e.Code == ftpFileUnavailable {
		return fmt.Sprintf("not found: FTP server %s has no file %s (%s: %s)", safetext.Escape(e.URL), safetext.Escape(e.file), e.ftp, safetext.Escape(e.Status))
	}
	if e.ftp != "" {
		return fmt.Sprintf("FTP server %s refused %s: %s", safetext.Escape(e.URL), e.ftp, safetext.Escape(e.Status))
	}
	return fmt.Sprintf("server answered %s for %s", safetext.Escape(e.Status), safetext.Escape(e.URL))
}

// ftpFileUnavailable is FTP's reply 550 (RFC 959): "Requested action not
// taken. File unavailable (e.g., file not found, no access)", FTP's 404.
const ftpFileUnavailable = 550

// Permanent reports whether retrying the request cannot help: client
// errors other than timeouts and rate limits.
func (e *StatusError) Permanent() bool {
	if e.ftp != "" {
		return e.Code >= 500 // FTP: 4xx transient, 5xx permanent
	}
	switch e.Code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return false
	}
	return e.Code >= 400 && e.Code < 500
}

// Overloaded reports whether the server said it is overloaded (429, 503).
func (e *StatusError) Overloaded() bool {
	if e.ftp != "" {
		return e.Code == 421 // "too many connections"
	}
	return e.Code == http.StatusTooManyRequests || e.Code == http.StatusServiceUnavailable
}

// RetryAfter is the wait the server asked for, zero when it did not.
func (e *StatusError) RetryAfter() time.Duration { return e.retryAfter }

func newStatusError(resp *http.Response, now time.Time) *StatusError {
	return &StatusError{
		Code:       resp.StatusCode,
		Status:     resp.Status,
		URL:        RedactURL(resp.Request.URL.String()),
		retryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), now),
	}
}

// ParseRetryAfter reads a Retry-After value, either delay-seconds or an
// HTTP-date (RFC 9110 section 10.2.3), as a wait from now. It returns zero
// for an absent, malformed or past value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
