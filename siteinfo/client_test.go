package siteinfo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netfox/netfox/byterange"
	"github.com/netfox/netfox/internal/testserver"
	"github.com/netfox/netfox/retry"
	"github.com/netfox/netfox/siteinfo"
)

func TestProbe(t *testing.T) {
	content := []byte(strings.Repeat("0123456789", 100))
	tests := []struct {
		name       string
		opts       []testserver.Option
		wantLength int64
		wantRanges bool
		strongETag bool
	}{
		{"plain", nil, 1000, true, true},
		{"HEAD refused", []testserver.Option{testserver.HeadStatus(http.StatusForbidden)}, 1000, true, true},
		{"no Accept-Ranges", []testserver.Option{testserver.NoAcceptRanges()}, 1000, true, true},
		{"no length", []testserver.Option{testserver.NoLength()}, -1, false, false},
		{"weak ETag", []testserver.Option{testserver.WeakETag()}, 1000, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.New(t, content, tt.opts...)
			c := &siteinfo.Client{}
			info, err := c.Probe(context.Background(), srv.FileURL)
			if err != nil {
				t.Fatal(err)
			}
			if info.Length != tt.wantLength || info.Ranges != tt.wantRanges || info.StrongETag() != tt.strongETag {
				t.Errorf("got length %d ranges %v strong %v; want %d %v %v", info.Length, info.Ranges, info.StrongETag(), tt.wantLength, tt.wantRanges, tt.strongETag)
			}
			if info.Filename != "file.bin" {
				t.Errorf("filename %q", info.Filename)
			}
		})
	}
}

func TestProbeEmptyFile(t *testing.T) {
	srv := testserver.New(t, nil, testserver.HeadStatus(http.StatusMethodNotAllowed))
	info, err := (&siteinfo.Client{}).Probe(context.Background(), srv.FileURL)
	if err != nil || info.Length != 0 {
		t.Fatalf("got %+v, %v; want length 0", info, err)
	}
}

func TestProbeFollowsRedirects(t *testing.T) {
	srv := testserver.New(t, []byte("hello"), testserver.Named("real.bin"))
	redirect := httptest.NewServer(http.RedirectHandler(srv.FileURL, http.StatusFound))
	defer redirect.Close()
	info, err := (&siteinfo.Client{}).Probe(context.Background(), redirect.URL+"/alias")
	if err != nil {
		t.Fatal(err)
	}
	if info.URL != srv.FileURL || info.Filename != "real.bin" {
		t.Errorf("URL %q filename %q; want %q and real.bin", info.URL, info.Filename, srv.FileURL)
	}
}

func TestProbeErrors(t *testing.T) {
	srv := testserver.New(t, []byte("x"))
	tests := []struct {
		url  string
		want error
	}{
		{"gopher://host/file", siteinfo.ErrBadURL},
		{"http:///nohost", siteinfo.ErrBadURL},
		{"http://[::1", siteinfo.ErrBadURL},
	}
	for _, tt := range tests {
		if _, err := (&siteinfo.Client{}).Probe(context.Background(), tt.url); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.url, err, tt.want)
		}
	}
	_, err := (&siteinfo.Client{}).Probe(context.Background(), srv.URL+"/missing")
	var se *siteinfo.StatusError
	if !errors.As(err, &se) || se.Code != 404 || !se.Permanent() {
		t.Errorf("404: got %v", err)
	}
}

// TestOpenRange checks that OpenRange hands back a body only for the exact
// range of the pinned version, and says what was wrong otherwise.
func TestOpenRange(t *testing.T) {
	content := []byte(strings.Repeat("abcdefghij", 1000))
	r := byterange.Range{Start: 100, End: 200}
	tests := []struct {
		name string
		opts []testserver.Option
		// change replaces the file after the probe.
		change []byte
		want   error
	}{
		{"exact range", nil, nil, nil},
		// A label that does not cover the first byte asked for cannot be
		// used for the range: a fall-back to one stream, which does not
		// rely on it (a server that lies in its labels is then caught by
		// no header, but its bytes are not written at the wrong place).
		{"Content-Range past the start", []testserver.Option{testserver.LieContentRange(1)}, nil, siteinfo.ErrRangeNotSupported},
		{"Content-Range before the start", []testserver.Option{testserver.AlignRanges(64)}, nil, nil},
		{"gzip", []testserver.Option{testserver.GzipRanges()}, nil, siteinfo.ErrBadResponse},
		{"ignores ranges", []testserver.Option{testserver.IgnoreRanges()}, nil, siteinfo.ErrRangeNotSupported},
		{"changed, same length", nil, []byte(strings.Repeat("ABCDEFGHIJ", 1000)), siteinfo.ErrRemoteChanged},
		{"changed, shorter", nil, []byte("short"), siteinfo.ErrRemoteChanged},
		{"changed, no ETag: Last-Modified pins", []testserver.Option{testserver.WeakETag()}, []byte(strings.Repeat("ABCDEFGHIJ", 1000)), siteinfo.ErrRemoteChanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.New(t, content, tt.opts...)
			c := &siteinfo.Client{}
			info, err := c.Probe(context.Background(), srv.FileURL)
			if err != nil {
				t.Fatal(err)
			}
			if tt.change != nil {
				srv.Change(tt.change)
			}
			body, err := (&siteinfo.Remote{Client: c, Info: info}).OpenRange(context.Background(), r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if err != nil {
				if !retry.IsPermanent(err) {
					t.Errorf("%v is not permanent", err)
				}
				return
			}
			defer body.Close()
			got, _ := io.ReadAll(body)
			if string(got) != string(content[100:200]) {
				t.Errorf("body %q", got)
			}
		})
	}
}

func TestStatusErrorRetryAfter(t *testing.T) {
	content := []byte("0123456789")
	srv := testserver.New(t, content, testserver.Status(http.StatusTooManyRequests, 1, "7"))
	c := &siteinfo.Client{}
	// The probe asks a twin that answers; the range goes to srv.
	info, err := c.Probe(context.Background(), testserver.New(t, content).FileURL)
	if err != nil {
		t.Fatal(err)
	}
	info.URL = srv.FileURL
	_, err = (&siteinfo.Remote{Client: c, Info: info}).OpenRange(context.Background(), byterange.Range{Start: 0, End: 5})
	var se *siteinfo.StatusError
	if !errors.As(err, &se) || se.Permanent() || se.RetryAfter() != 7*time.Second {
		t.Fatalf("got %v; want a transient 429 with Retry-After 7s", err)
	}
}

// TestOpenRangeLengthMismatch: a 206 whose Content-Length disagrees with
// its Content-Range is refused before its body is read.
func TestOpenRangeLengthMismatch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"x"`)
		w.Header().Set("Accept-Ranges", "bytes")
		if r.Method == http.MethodHead {
			w.Header().Set("Content-Length", "1000")
			return
		}
		w.Header().Set("Content-Range", "bytes 100-199/1000")
		w.Header().Set("Content-Length", "50")
		w.WriteHeader(http.StatusPartialContent)
		w.Write(make([]byte, 50))
	}))
	defer srv.Close()
	c := &siteinfo.Client{}
	info, err := c.Probe(context.Background(), srv.URL+"/f")
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&siteinfo.Remote{Client: c, Info: info}).OpenRange(context.Background(), byterange.Range{Start: 100, End: 200})
	if !errors.Is(err, siteinfo.ErrBadResponse) || !strings.Contains(err.Error(), "Content-Length 50") {
		t.Fatalf("got %v", err)
	}
}

// TestProbeOpenFirstPiece: the probe is one GET of the first piece, its
// body the file's first bytes; a HEAD is sent only to confirm a
// Content-Encoding; a server that ignores ranges gives the whole file as
// the body of its 200.
func TestProbeOpenFirstPiece(t *testing.T) {
	content := []byte(strings.Repeat("0123456789", 1000))
	tests := []struct {
		name     string
		opts     []testserver.Option
		piece    int64
		wantEnd  int64
		ranges   bool
		requests []string // methods and ranges
	}{
		{"piece of a larger file", nil, 4000, 4000, true, []string{"GET bytes=0-3999"}},
		{"file within the piece", nil, 1 << 20, 10000, true, []string{"GET bytes=0-1048575"}},
		// (These servers log the request as they took it.)
		{"ignores ranges", []testserver.Option{testserver.IgnoreRanges()}, 4000, 10000, false, []string{"GET "}},
		{"whole file as 206", []testserver.Option{testserver.WholeAs206()}, 4000, 10000, false, []string{"GET bytes=0-"}},
		{"stored gzip", []testserver.Option{testserver.ContentEncoding("gzip", "gzip")}, 4000, 4000, true, []string{"GET bytes=0-3999", "HEAD "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.New(t, content, tt.opts...)
			info, first, err := (&siteinfo.Client{}).ProbeOpen(context.Background(), srv.FileURL, tt.piece)
			if err != nil {
				t.Fatal(err)
			}
			if first == nil {
				t.Fatal("no first piece")
			}
			got, err := io.ReadAll(first.Body)
			first.Close()
			if err != nil {
				t.Fatal(err)
			}
			if first.End != tt.wantEnd || !bytes.Equal(got, content[:tt.wantEnd]) {
				t.Errorf("first piece ends at %d with %d bytes, want %d, the file's first", first.End, len(got), tt.wantEnd)
			}
			if info.Length != int64(len(content)) || info.Ranges != tt.ranges {
				t.Errorf("length %d ranges %v, want %d %v", info.Length, info.Ranges, len(content), tt.ranges)
			}
			srv.Close() // waits for the handlers, which log as they end
			var reqs []string
			for _, line := range srv.Log() {
				var method, rng string
				fmt.Sscanf(line, "%s range=%q", &method, &rng)
				reqs = append(reqs, method+" "+rng)
			}
			// Logged as each answer ends: the GET's body, read last, may
			// end after the HEAD.
			slices.Sort(reqs)
			if !slices.Equal(reqs, slices.Sorted(slices.Values(tt.requests))) {
				t.Errorf("requests %q, want %q", reqs, tt.requests)
			}
		})
	}
}
