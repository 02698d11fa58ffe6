package siteinfo

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/netfox/netfox/internal/safetext"
	"github.com/netfox/netfox/retry"
)

// The credential and redirect policy, as curl has it: credentials go only
// to the origin (scheme, host, port) they were given for; a redirect to
// another origin drops them unless the user trusts the redirects
// (--location-trusted); an https download never follows a redirect to
// http unless allowed (--allow-insecure-redirect), and even then sends no
// credentials over http. Every request netfox makes - probe, ranges,
// hedges, retries, mirrors - takes its credentials from addCredentials,
// and every redirect goes through checkRedirect; both decide with
// MaySendCredentials.

// ErrInsecureRedirect indicates an https address that redirects to http:
// what the user asked to fetch encrypted would come in clear text.
var ErrInsecureRedirect = errors.New("refusing a redirect from https to http")

// Origin is the scheme, host and port of u, lower-cased and with the
// scheme's default port filled in: "https://example.com:443". A URL
// without a host name has the origin "", which no credentials go to.
func Origin(u *url.URL) string {
	if u == nil || u.Hostname() == "" {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		case "ftp":
			port = "21"
		}
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	return scheme + "://" + net.JoinHostPort(host, port)
}

// MaySendCredentials reports whether credentials given for the address
// origin may go with a request to target: always to the same origin;
// to another only when trusted; and never from https to plain http.
func MaySendCredentials(origin, target *url.URL, trusted bool) bool {
	o, t := Origin(origin), Origin(target)
	if o == "" || t == "" {
		return false
	}
	if o == t {
		return true
	}
	downgrade := strings.EqualFold(origin.Scheme, "https") && !strings.EqualFold(target.Scheme, "https")
	return trusted && !downgrade
}

// credentialHeaders are the request headers that carry credentials; they
// follow MaySendCredentials like a --user login does.
var credentialHeaders = []string{"Authorization", "Cookie"}

// addCredentials sets the headers and the login of a request to req.URL
// for a download asked for at origin: the Client's own headers always,
// its credentials only where MaySendCredentials allows.
func (c *Client) addCredentials(req *http.Request, origin *url.URL) {
	allowed := MaySendCredentials(origin, req.URL, c.LocationTrusted)
	for k, vs := range c.Header {
		if !allowed && isCredentialHeader(k) {
			continue
		}
		req.Header[k] = vs
	}
	if !allowed {
		for _, k := range credentialHeaders {
			req.Header.Del(k)
		}
		return
	}
	if user, password, ok := c.credentials(origin); ok {
		req.SetBasicAuth(user, password)
	}
}

func isCredentialHeader(name string) bool {
	for _, k := range credentialHeaders {
		if strings.EqualFold(name, k) {
			return true
		}
	}
	return false
}

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

// originJar hands out the cookies of jar (--load-cookies) for a request
// only where MaySendCredentials allows them for a download asked for at
// origin: they are credentials like a Cookie header.
type originJar struct {
	jar     http.CookieJar
	origin  *url.URL
	trusted bool
}

func (j *originJar) SetCookies(u *url.URL, cookies []*http.Cookie) { j.jar.SetCookies(u, cookies) }

func (j *originJar) Cookies(u *url.URL) []*http.Cookie {
	if !MaySendCredentials(j.origin, u, j.trusted) {
		return nil
	}
	return j.jar.Cookies(u)
}

// RedactURL returns rawURL with any password shown as "***"
// (user:***@host), for printing and for files others may read. A string
// that does not parse as a URL is returned with everything between "://"
// and the last "@" of its authority hidden.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		scheme, rest, ok := strings.Cut(rawURL, "://")
		if !ok {
			return rawURL
		}
		authority, path, _ := strings.Cut(rest, "/")
		if i := strings.LastIndex(authority, "@"); i >= 0 {
			authority = "***" + authority[i:]
		}
		if path != "" || strings.Contains(rest, "/") {
			path = "/" + path
		}
		return scheme + "://" + authority + path
	}
	if u.User == nil {
		return rawURL
	}
	if _, has := u.User.Password(); !has {
		return rawURL
	}
	// Not through url.UserPassword: String would escape the stars.
	user := url.User(u.User.Username()).String()
	u.User = nil
	return strings.Replace(u.String(), "//", "//"+user+":***@", 1)
}
