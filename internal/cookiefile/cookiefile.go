// Package cookiefile loads cookies from a Netscape cookie file, the
// format of curl's -b/-c, wget's --load-cookies and browsers' exports.
package cookiefile

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Load reads the cookie file at path into a new jar.
func Load(path string) (http.CookieJar, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	if err := Read(f, jar, time.Now()); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return jar, nil
}

// Read adds the cookies of a Netscape cookie file to jar: one cookie a
// line, seven tab-separated fields (domain, include-subdomains flag,
// path, secure, expiry in Unix seconds, name, value); "#" lines are
// comments except the "#HttpOnly_" prefix of a domain. Cookies expired at
// now are skipped.
func Read(r io.Reader, jar http.CookieJar, now time.Time) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		httpOnly := false
		if rest, ok := strings.CutPrefix(line, "#HttpOnly_"); ok {
			line, httpOnly = rest, true
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 7 {
			return fmt.Errorf("line %d: want 7 tab-separated fields, got %d", n, len(fields))
		}
		domain, path, secure, name, value := fields[0], fields[2], strings.EqualFold(fields[3], "TRUE"), fields[5], fields[6]
		expiry, err := strconv.ParseInt(fields[4], 10, 64)
		if err != nil {
			return fmt.Errorf("line %d: bad expiry %q", n, fields[4])
		}
		c := &http.Cookie{Name: name, Value: value, Path: path, Secure: secure, HttpOnly: httpOnly}
		if expiry != 0 {
			c.Expires = time.Unix(expiry, 0)
			if c.Expires.Before(now) {
				continue
			}
		}
		host := strings.TrimPrefix(domain, ".")
		if strings.EqualFold(fields[1], "TRUE") {
			c.Domain = host // and its subdomains
		}
		scheme := "http"
		if secure {
			scheme = "https"
		}
		jar.SetCookies(&url.URL{Scheme: scheme, Host: host, Path: path}, []*http.Cookie{c})
	}
	return sc.Err()
}
