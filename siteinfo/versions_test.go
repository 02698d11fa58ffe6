package siteinfo

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/netfox/netfox/retry"
)

// TestCompareVersions: RFC 9110's rules, one row per rule; each pair is
// also checked the other way round, since the comparison is symmetric.
func TestCompareVersions(t *testing.T) {
	const (
		lm1      = "Mon, 01 Jan 2024 10:00:00 GMT"
		lm2      = "Mon, 01 Jan 2024 10:00:01 GMT"
		lm1Other = "Monday, 01-Jan-24 10:00:00 GMT" // RFC 850 form of lm1
	)
	tests := []struct {
		name string
		a, b Info
		want Verdict
	}{
		{"nothing to compare", Info{Length: 5}, Info{Length: 5}, VersionUnknown},
		{"lengths differ", Info{Length: 5, ETag: `"x"`}, Info{Length: 6, ETag: `"x"`}, VersionChanged},
		{"a length unknown is no change", Info{Length: -1, ETag: `"x"`}, Info{Length: 6, ETag: `"x"`}, VersionSameETag},
		{"strong ETags equal", Info{Length: 5, ETag: `"x"`}, Info{Length: 5, ETag: `"x"`}, VersionSameETag},
		{"strong ETags differ", Info{Length: 5, ETag: `"x"`, LastModified: lm1}, Info{Length: 5, ETag: `"y"`, LastModified: lm1}, VersionChanged},
		{"strong ETag decides over dates", Info{Length: 5, ETag: `"x"`, LastModified: lm1}, Info{Length: 5, ETag: `"x"`, LastModified: lm2}, VersionSameETag},
		// Case 9 of issue 26: a 206 repeats the ETag, not Last-Modified.
		{"206 without Last-Modified", Info{Length: 5, ETag: `"x"`, LastModified: lm1}, Info{Length: 5, ETag: `"x"`}, VersionSameETag},
		{"ETag on one side only, dates equal", Info{Length: 5, ETag: `"x"`, LastModified: lm1}, Info{Length: 5, LastModified: lm1}, VersionSameLastModified},
		{"ETag on one side only, dates differ", Info{Length: 5, ETag: `"x"`, LastModified: lm1}, Info{Length: 5, LastModified: lm2}, VersionChanged},
		{"ETag on one side, date on the other", Info{Length: 5, ETag: `"x"`}, Info{Length: 5, LastModified: lm1}, VersionUnknown},
		{"weak ETags equal prove nothing", Info{Length: 5, ETag: `W/"x"`}, Info{Length: 5, ETag: `W/"x"`}, VersionUnknown},
		{"weak and strong of one tag prove nothing", Info{Length: 5, ETag: `W/"x"`}, Info{Length: 5, ETag: `"x"`}, VersionUnknown},
		{"weak ETags equal, dates decide", Info{Length: 5, ETag: `W/"x"`, LastModified: lm1}, Info{Length: 5, ETag: `W/"x"`, LastModified: lm1}, VersionSameLastModified},
		{"weak ETags differ", Info{Length: 5, ETag: `W/"x"`, LastModified: lm1}, Info{Length: 5, ETag: `W/"y"`, LastModified: lm1}, VersionChanged},
		{"dates in two formats", Info{Length: 5, LastModified: lm1}, Info{Length: 5, LastModified: lm1Other}, VersionSameLastModified},
		{"dates differ", Info{Length: 5, LastModified: lm1}, Info{Length: 5, LastModified: lm2}, VersionChanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CompareVersions(tt.a, tt.b); got != tt.want {
				t.Errorf("CompareVersions(a, b) = %v, want %v", got, tt.want)
			}
			if got := CompareVersions(tt.b, tt.a); got != tt.want {
				t.Errorf("CompareVersions(b, a) = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRedirectRefusal: curl's rules, each refusal with its own sentinel
// and final (not retried).
func TestRedirectRefusal(t *testing.T) {
	chain := func(n int) []*http.Request {
		var via []*http.Request
		for i := range n {
			r, _ := http.NewRequest("GET", fmt.Sprintf("http://h/%d", i), nil)
			via = append(via, r)
		}
		return via
	}
	to := func(s string) *http.Request {
		r, err := http.NewRequest("GET", s, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name string
		req  *http.Request
		via  []*http.Request
		want error
	}{
		{"first redirect", to("http://h/next"), chain(1), nil},
		{"the 50th redirect", to("http://h/next"), chain(MaxRedirects), nil},
		{"the 51st redirect", to("http://h/next"), chain(MaxRedirects + 1), ErrTooManyRedirects},
		{"back to the start", to("http://h/0"), chain(3), ErrRedirectLoop},
		{"to itself", to("http://h/0"), chain(1), ErrRedirectLoop},
		{"back, with a fragment", to("http://h/1#top"), chain(3), ErrRedirectLoop},
		{"https is fine", to("https://h/0"), chain(1), nil},
		{"file:", to("file:///etc/passwd"), chain(1), ErrRedirectScheme},
		{"ftp:", to("ftp://h/f"), chain(1), ErrRedirectScheme},
		{"data:", to("data:text/plain,hi"), chain(1), ErrRedirectScheme},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := redirectRefusal(tt.req, tt.via)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if err != nil && (!retry.IsPermanent(err) || !IsRedirectRefusal(err)) {
				t.Errorf("%v: permanent %v, refusal %v", err, retry.IsPermanent(err), IsRedirectRefusal(err))
			}
		})
	}
}
