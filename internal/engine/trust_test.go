package engine

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/netfox/netfox/siteinfo"
)

// TestSamples: the windows Continue compares are in order, disjoint,
// inside the file, include its first and last bytes, and add up to all of
// a small file or sampleAll bytes of a larger one.
func TestSamples(t *testing.T) {
	for _, size := range []int64{0, 1, 1000, sampleAll - 1, sampleAll, sampleAll + 1, 2 << 20, 19 << 20, 3 << 30, 1 << 50} {
		rs := samples(size)
		if size == 0 {
			if len(rs) != 0 {
				t.Errorf("size 0: %v", rs)
			}
			continue
		}
		var total, prevEnd int64
		for i, r := range rs {
			if r.Start < prevEnd || r.End <= r.Start || r.End > size {
				t.Fatalf("size %d: window %d %v after %d", size, i, r, prevEnd)
			}
			prevEnd = r.End
			total += r.Len()
		}
		want := min(size, sampleAll)
		if total != want || rs[0].Start != 0 || rs[len(rs)-1].End != size {
			t.Errorf("size %d: %d windows, %d bytes, first %v last %v; want %d bytes from 0 to the end", size, len(rs), total, rs[0], rs[len(rs)-1], want)
		}
		if size > sampleAll && len(rs) != sampleBetween+2 {
			t.Errorf("size %d: %d windows, want %d", size, len(rs), sampleBetween+2)
		}
	}
}

// TestFinished: what a file at the output path is, by its record (issue
// 26 case 3: length and date alone prove nothing).
func TestFinished(t *testing.T) {
	lm := "Mon, 01 Jan 2024 10:00:00 GMT"
	at, _ := http.ParseTime(lm)
	here := []string{"http://a/f", "http://cdn/f"}
	remote := siteinfo.Info{Length: 10, ETag: `"v1"`, LastModified: lm}
	tests := []struct {
		name string
		rec  record
		info siteinfo.Info
		want finishedVerdict
	}{
		{"our download, same version", record{size: 10, modified: at, origin: "http://a/f", etag: `"v1"`}, remote, finishedSame},
		{"from the redirect's target", record{size: 10, modified: at, origin: "http://cdn/f"}, siteinfo.Info{Length: 10, LastModified: lm}, finishedSame},
		{"other length", record{size: 9, modified: at, origin: "http://a/f", etag: `"v1"`}, remote, finishedChanged},
		{"other ETag", record{size: 10, modified: at, origin: "http://a/f", etag: `"v0"`}, remote, finishedChanged},
		{"other date", record{size: 10, modified: at.Add(time.Hour), origin: "http://a/f"}, siteinfo.Info{Length: 10, LastModified: lm}, finishedChanged},
		{"strong ETag from elsewhere", record{size: 10, modified: at, origin: "http://b/f", etag: `"v1"`}, remote, finishedSame},
		{"date and length from elsewhere", record{size: 10, modified: at, origin: "http://b/f"}, siteinfo.Info{Length: 10, LastModified: lm}, finishedElsewhere},
		{"no record, date and length equal", record{size: 10, modified: at}, siteinfo.Info{Length: 10, LastModified: lm}, finishedUnknown},
		{"no xattrs, date and length equal", record{size: 10, modified: at, noXattr: true}, remote, finishedUnknown},
		{"weak ETag only", record{size: 10, modified: at, origin: "http://a/f", etag: `W/"v1"`}, siteinfo.Info{Length: 10, ETag: `W/"v1"`}, finishedUnknown},
		{"no length from the server", record{size: 10, modified: at, origin: "http://a/f", etag: `"v1"`}, siteinfo.Info{Length: -1, ETag: `"v1"`}, finishedChanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := finished(tt.rec, tt.info, here); got != tt.want {
				t.Errorf("finished = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		recorded string
		want     bool
	}{
		{"http://a/f", true},
		{"http://A:80/other", true},
		{"https://a/f", false},
		{"http://a:8080/f", false},
		{"http://b/f", false},
		{"not a url", false},
	}
	for _, tt := range tests {
		if got := sameOrigin(tt.recorded, []string{"http://a/f"}); got != tt.want {
			t.Errorf("sameOrigin(%q) = %v, want %v", tt.recorded, got, tt.want)
		}
	}
}

// TestAuxName: the .part and .info of a name up to 255 bytes fit
// NAME_MAX (issue 26 case 8), the same every time, and differ for two
// long names that share their beginning.
func TestAuxName(t *testing.T) {
	long := func(n int, last string) string { return strings.Repeat("a", n-len(last)) + last }
	tests := []struct {
		out   string
		plain bool // out + suffix
	}{
		{"dir/short.bin", true},
		{"dir/" + long(250, "x"), true},
		{"dir/" + long(251, "x"), false},
		{"dir/" + long(255, "y"), false},
		{"dir/" + long(255, "é"), false},
		{long(253, "ü€"), false},
	}
	for _, tt := range tests {
		for _, suffix := range []string{".part", ".info"} {
			got := auxName(tt.out, suffix)
			base := filepath.Base(got)
			if len(base) > maxName || !strings.HasSuffix(got, suffix) || !utf8.ValidString(base) || filepath.Dir(got) != filepath.Dir(tt.out) {
				t.Errorf("auxName(%d bytes, %s) = %q (%d bytes)", len(tt.out), suffix, base, len(base))
			}
			if (got == tt.out+suffix) != tt.plain {
				t.Errorf("auxName(%d bytes, %s) = %q, plain %v", len(tt.out), suffix, base, tt.plain)
			}
			if auxName(tt.out, suffix) != got {
				t.Errorf("auxName is not deterministic")
			}
		}
	}
	if a, b := auxName(long(255, "1"), ".part"), auxName(long(255, "2"), ".part"); a == b {
		t.Errorf("two names got one .part: %s", a)
	}
}
