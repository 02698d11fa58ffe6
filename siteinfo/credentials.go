package siteinfo

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// The credential and redirect policy, as curl has it: credentials go only
// to the origin (scheme, host, port) they were given for; a redirect to
// another origin drops them unless the user trusts the redirects
// (--location-trusted); an https download never follows a redirect to
// http unless allowed (--allow-insecure-redirect), and even then sends no
// credentials over http. Every request netfox makes - probe, ranges,
// hedges, retries, mirrors - takes its credentials from addCredentials,
// and every redirect goes through checkRedirect (redirects.go); both
// decide with MaySendCredentials.

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
