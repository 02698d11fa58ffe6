package siteinfo

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netfox/netfox/byterange"
)

const secret = "s3cret-77"

func mustParse(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestMaySendCredentials(t *testing.T) {
	tests := []struct {
		from, to string
		trusted  bool
		want     bool
	}{
		{"http://a.example/f", "http://a.example/g", false, true},
		{"http://a.example/f", "http://A.EXAMPLE:80/g", false, true},
		{"https://a.example/f", "https://a.example:443/g", false, true},
		{"http://a.example./f", "http://a.example/g", false, true},
		{"http://127.0.0.1:8080/f", "http://localhost:8080/f", false, false},
		{"http://127.0.0.1:8080/f", "http://127.0.0.1:8081/f", false, false},
		{"http://a.example/f", "https://a.example/f", false, false},
		{"http://a.example/f", "http://b.example/f", true, true},
		{"http://a.example/f", "https://b.example/f", true, true},
		{"https://a.example/f", "http://a.example/f", false, false},
		{"https://a.example/f", "http://a.example/f", true, false},
		{"https://a.example/f", "http://a.example:443/f", true, false},
		{"ftp://a.example/f", "ftp://a.example:21/f", false, true},
		{"http://a.example/f", "/relative", true, false},
	}
	for _, tt := range tests {
		got := MaySendCredentials(mustParse(t, tt.from), mustParse(t, tt.to), tt.trusted)
		if got != tt.want {
			t.Errorf("MaySendCredentials(%s, %s, trusted=%v) = %v, want %v", tt.from, tt.to, tt.trusted, got, tt.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://bob:pw@h/f", "http://bob:***@h/f"},
		{"https://bob:p%40ss@h:8443/f?q=1", "https://bob:***@h:8443/f?q=1"},
		{"ftp://bob:@h/f", "ftp://bob:***@h/f"},
		{"http://bob@h/f", "http://bob@h/f"},
		{"http://h/f", "http://h/f"},
		{"http://bob:pw@[::1/f", "http://***@[::1/f"},
		{"not a url", "not a url"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := RedactURL(RedactURL(tt.in)); got != RedactURL(tt.in) {
			t.Errorf("RedactURL is not idempotent on %q: %q", tt.in, got)
		}
	}
}

// carries reports whether r holds the secret: in a Basic login, a header
// or the address.
func carries(r *http.Request) bool {
	if _, p, ok := r.BasicAuth(); ok && p == secret {
		return true
	}
	if p, ok := r.URL.User.Password(); ok && p == secret {
		return true
	}
	for _, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, secret) {
				return true
			}
		}
	}
	return false
}

// FuzzRedirectPolicy: for any redirect from an http(s) address to
// another, the next request carries the download's credentials (login,
// Authorization, Cookie) exactly when MaySendCredentials allows, an https
// to http redirect is refused unless allowed, and headers that are not
// credentials always go.
func FuzzRedirectPolicy(f *testing.F) {
	f.Add("http://127.0.0.1:8080/f", "http://localhost:8080/f", false, false, 0)
	f.Add("http://127.0.0.1:8080/f", "http://127.0.0.1:8081/f", true, false, 1)
	f.Add("https://a.example/f", "http://a.example/f", true, true, 2)
	f.Add("https://a.example/f", "https://a.example:443/g", false, false, 0)
	f.Add("http://a.example/f", "http://a.example:80/g", false, false, 2)
	f.Add("http://a.example/f", "https://a.example/f", false, false, 1)
	f.Fuzz(func(t *testing.T, from, to string, trusted, insecure bool, how int) {
		o, err1 := url.Parse(from)
		target, err2 := url.Parse(to)
		if err1 != nil || err2 != nil || o.Hostname() == "" || target.Hostname() == "" ||
			(o.Scheme != "http" && o.Scheme != "https") || (target.Scheme != "http" && target.Scheme != "https") {
			t.Skip()
		}
		c := &Client{LocationTrusted: trusted, AllowInsecureRedirect: insecure, Header: http.Header{"X-Other": {"kept"}}}
		switch how % 3 {
		case 0:
			c.User, c.Password = "alice", secret
		case 1:
			o.User = url.UserPassword("alice", secret)
		default:
			c.Header.Set("Authorization", "Bearer "+secret)
			c.Header.Set("Cookie", "sid="+secret)
		}
		o.User, target.User = nil, nil
		if how%3 == 1 {
			o.User = url.UserPassword("alice", secret)
		}
		first, origin, err := c.newRequest(context.Background(), http.MethodGet, o.String(), o.String())
		if err != nil {
			t.Skip()
		}
		if !carries(first) {
			t.Fatalf("the first request to %s lacks the credentials given for it", o)
		}
		next, err := http.NewRequest(http.MethodGet, target.String(), nil)
		if err != nil {
			t.Skip()
		}
		next.Header = first.Header.Clone() // the most net/http could copy
		err = c.checkRedirect(next, []*http.Request{first}, origin)
		downgrade := o.Scheme == "https" && target.Scheme == "http"
		if downgrade && !insecure {
			if !errors.Is(err, ErrInsecureRedirect) {
				t.Fatalf("https -> http followed: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if want := MaySendCredentials(origin, next.URL, trusted); carries(next) != want {
			t.Fatalf("%s -> %s (trusted %v): credentials sent %v, want %v", o.Redacted(), target, trusted, carries(next), want)
		}
		if Origin(origin) == Origin(next.URL) && !carries(next) {
			t.Fatalf("%s -> %s: the same origin lost its credentials", o.Redacted(), target)
		}
		if downgrade && carries(next) {
			t.Fatalf("credentials over http after https")
		}
		if next.Header.Get("X-Other") != "kept" {
			t.Fatal("a header that is no credential was dropped")
		}
	})
}

// A range request goes to the address after redirects; when that one
// redirects again (a signed link that moves), the credentials given for
// the address asked for still stay with their origin.
func TestOpenRangeRedirectKeepsCredentialsHome(t *testing.T) {
	data := []byte(strings.Repeat("0123456789", 1000))
	var mu sync.Mutex
	var leaked []string
	final := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/moved":
			http.Redirect(w, r, "/final", http.StatusFound)
			return
		case r.URL.Path == "/final" && r.Header.Get("Range") != "":
			http.Redirect(w, r, "/signed", http.StatusFound)
			return
		}
		if carries(r) {
			mu.Lock()
			leaked = append(leaked, r.URL.Path)
			mu.Unlock()
		}
		http.ServeContent(w, r, "f", time.Time{}, strings.NewReader(string(data)))
	}))
	defer final.Close()
	origin := httptest.NewServer(http.RedirectHandler(final.URL+"/moved", http.StatusFound))
	defer origin.Close()
	c := &Client{User: "alice", Password: secret, Header: http.Header{"Authorization": {"Bearer " + secret}}}
	info, err := c.Probe(context.Background(), origin.URL+"/f")
	if err != nil {
		t.Fatal(err)
	}
	rm := &Remote{Client: c, Info: info}
	body, err := rm.OpenRange(context.Background(), byterange.Range{Start: 10, End: 19})
	if err != nil {
		t.Fatal(err)
	}
	body.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(leaked) > 0 {
		t.Errorf("credentials given for %s went to %s: %v", origin.URL, final.URL, leaked)
	}
}
