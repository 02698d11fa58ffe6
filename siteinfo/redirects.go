package siteinfo

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/netfox/netfox/internal/safetext"
	"github.com/netfox/netfox/retry"
)

// Redirects: which a download follows, and what each followed one
// keeps of the credentials (MaySendCredentials, credentials.go).

// Redirects are followed as curl follows them: up to MaxRedirects in a
// chain; a chain that comes back to an address it already visited is a
// loop, refused at once rather than followed to the limit; a Location
// that is not http or https (file:, ftp:, data:) is refused at once. Each
// refusal is final (retry.Permanent): the same request would be
// redirected the same way again.
var (
	// ErrTooManyRedirects indicates a chain of more than MaxRedirects
	// redirects.
	ErrTooManyRedirects = errors.New("too many redirects")
	// ErrRedirectLoop indicates a redirect back to an address of the
	// same chain.
	ErrRedirectLoop = errors.New("redirect loop")
	// ErrRedirectScheme indicates a redirect to an address that is not
	// http or https.
	ErrRedirectScheme = errors.New("redirect to an unsupported scheme")
)

// MaxRedirects bounds a chain of redirects: curl's default (--max-redirs
// 50); net/http's 10 stops chains that real download sites use (a
// redirector, a mirror picker, a signed CDN link, each with hops of its
// own).
const MaxRedirects = 50

// redirectRefusal is the error refusing the redirect to req after via,
// nil when it may be followed.
func redirectRefusal(req *http.Request, via []*http.Request) error {
	prev := via[len(via)-1]
	if s := strings.ToLower(req.URL.Scheme); s != "http" && s != "https" {
		return retry.Permanent(fmt.Errorf("%w: %s redirects to %q", ErrRedirectScheme,
			RedactURL(prev.URL.String()), safetext.Escape(RedactURL(req.URL.String()))))
	}
	next := chainKey(req.URL)
	for _, v := range via {
		if chainKey(v.URL) == next {
			return retry.Permanent(fmt.Errorf("%w: %s redirects back to %s after %d redirects", ErrRedirectLoop,
				RedactURL(prev.URL.String()), RedactURL(req.URL.String()), len(via)))
		}
	}
	if len(via) > MaxRedirects {
		return retry.Permanent(fmt.Errorf("%w: stopped after %d redirects, at %s", ErrTooManyRedirects, MaxRedirects, RedactURL(prev.URL.String())))
	}
	return nil
}

// chainKey is an address as a chain of redirects visits it: without
// its fragment, which is never sent.
func chainKey(u *url.URL) string {
	c := *u
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// IsRedirectRefusal reports whether err is one of the refusals of
// checkRedirect: its own message says all, not a network failure.
func IsRedirectRefusal(err error) bool {
	return errors.Is(err, ErrInsecureRedirect) || errors.Is(err, ErrTooManyRedirects) ||
		errors.Is(err, ErrRedirectLoop) || errors.Is(err, ErrRedirectScheme)
}

// checkRedirect is the http.Client's CheckRedirect for a download asked
// for at origin: it refuses loops, chains too long, non-http(s) targets
// (redirectRefusal) and an https to http redirect unless allowed, and
// gives the next request the credentials the policy allows it, no more.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request, origin *url.URL) error {
	if err := redirectRefusal(req, via); err != nil {
		return err
	}
	prev := via[len(via)-1]
	if strings.EqualFold(prev.URL.Scheme, "https") && strings.EqualFold(req.URL.Scheme, "http") && !c.AllowInsecureRedirect {
		return retry.Permanent(fmt.Errorf("%w: %s redirects to %s",
			ErrInsecureRedirect, RedactURL(prev.URL.String()), RedactURL(req.URL.String())))
	}
	// net/http copied the first request's headers, keeping some of them
	// for any host of the same domain; decide again, here.
	for _, k := range credentialHeaders {
		req.Header.Del(k)
	}
	if req.URL.User != nil && !MaySendCredentials(origin, req.URL, c.LocationTrusted) {
		// A user:password@ kept from a relative Location, or given in
		// the Location by the server: net/http would send it.
		req.URL.User = nil
	}
	c.addCredentials(req, origin)
	return nil
}
