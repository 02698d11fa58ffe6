package cookiefile

import (
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	file := "# Netscape HTTP Cookie File\n" +
		".example.com\tTRUE\t/\tFALSE\t0\tsession\tabc\n" +
		"#HttpOnly_dl.example.com\tFALSE\t/files\tFALSE\t1800000000\ttoken\txyz\n" +
		"old.example.net\tFALSE\t/\tFALSE\t1000\tstale\tgone\n"
	jar, _ := cookiejar.New(nil)
	if err := Read(strings.NewReader(file), jar, now); err != nil {
		t.Fatal(err)
	}
	got := func(raw string) string {
		u, _ := url.Parse(raw)
		var parts []string
		for _, c := range jar.Cookies(u) {
			parts = append(parts, c.Name+"="+c.Value)
		}
		return strings.Join(parts, "; ")
	}
	tests := map[string]string{
		"http://www.example.com/":           "session=abc",
		"http://dl.example.com/files/a.iso": "token=xyz; session=abc",
		"http://dl.example.com/other":       "session=abc",
		"http://old.example.net/":           "",
	}
	for u, want := range tests {
		if g := got(u); g != want {
			t.Errorf("%s: cookies %q, want %q", u, g, want)
		}
	}
}

func TestReadErrors(t *testing.T) {
	jar, _ := cookiejar.New(nil)
	for _, bad := range []string{"a\tb\n", "h\tFALSE\t/\tFALSE\tsoon\tn\tv\n"} {
		if err := Read(strings.NewReader(bad), jar, time.Now()); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: got %v", bad, err)
		}
	}
}
