package main

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netfox/netfox/internal/nginxtest"
	"github.com/netfox/netfox/internal/testserver"
	"github.com/netfox/netfox/state"
)

// TestIntegrityCases runs the binary against servers that tell the truth
// in unusual ways, or lie in their HEAD answer: each must end in the
// server's file, byte-identical, or in a refusal with the documented exit
// code, never in a wrong file saved with exit 0.
func TestIntegrityCases(t *testing.T) {
	t.Parallel()
	data := content(2<<20, 21)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(content(1<<20, 22))
	zw.Close()
	stored := gz.Bytes() // a .tar.gz as it lies on the server's disk

	tests := []struct {
		name string
		file []byte
		opts []testserver.Option
		code int
	}{
		// HEAD's length is a hint; the GET decides.
		{"HEAD says 0 bytes, GET serves 64 MiB", content(64<<20, 23), []testserver.Option{testserver.HeadLength(0)}, exitOK},
		{"HEAD says 1000 bytes without validators, GET serves 2 MiB", data, []testserver.Option{testserver.HeadLength(1000), testserver.NoValidators()}, exitOK},
		// A 206 labelled honestly with another range than asked.
		{"every range answered with the whole file as 206", data, []testserver.Option{testserver.WholeAs206()}, exitOK},
		{"ranges widened to 100 000-byte boundaries", data, []testserver.Option{testserver.AlignRanges(100_000)}, exitOK},
		// A stored .gz: the coding is the file's, on HEAD and every GET.
		{"stored .gz labelled gzip on HEAD and ranges", stored, []testserver.Option{testserver.Named("f.tar.gz"), testserver.ContentEncoding("gzip", "gzip")}, exitOK},
		{"gzip on ranges only", stored, []testserver.Option{testserver.Named("f.tar.gz"), testserver.ContentEncoding("", "gzip")}, exitBadResponse},
		{"gzip on HEAD, br on ranges", stored, []testserver.Option{testserver.Named("f.tar.gz"), testserver.ContentEncoding("gzip", "br")}, exitBadResponse},
		// HEAD's label is a hint like its length: the GETs agree on none.
		{"gzip on HEAD only", stored, []testserver.Option{testserver.Named("f.tar.gz"), testserver.ContentEncoding("gzip", "")}, exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.New(t, tt.file, tt.opts...)
			dir := t.TempDir()
			stderr, code := run(t, dir, "get", "-q", "-n", "4", "-o", "out", srv.FileURL)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if tt.code != exitOK {
				if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
					t.Errorf("a refused download left its output: %v", err)
				}
				return
			}
			sameFile(t, filepath.Join(dir, "out"), tt.file)
		})
	}
}

// TestInfoMustCoverTheFile: a .info with a valid checksum and the
// server's validators, whose segments leave bytes to no one, is refused
// with the bad-state code and the --restart advice, the partial download
// left as it was; --restart then fetches the file.
func TestInfoMustCoverTheFile(t *testing.T) {
	t.Parallel()
	data := content(1<<20, 24)
	srv := testserver.New(t, data)
	n := int64(len(data))
	tests := []struct {
		name string
		segs []state.Segment
	}{
		{"gap between segments", []state.Segment{{Start: 0, Next: n / 2, Synced: n / 2, End: n / 2}, {Start: n/2 + 4096, Next: n, Synced: n, End: n}}},
		{"no segments", []state.Segment{}},
		{"segments stop short of the end", []state.Segment{{Start: 0, Next: n - 1000, Synced: n - 1000, End: n - 1000}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			etag, lastModified := srv.Validators()
			st := state.State{URL: srv.FileURL, FinalURL: srv.FileURL, Length: n, ETag: etag, LastModified: lastModified, BootID: state.BootID(), Segments: tt.segs}
			part := bytes.Clone(data)
			for i := range part {
				if !covered(tt.segs, int64(i)) {
					part[i] = 0 // what no run ever wrote
				}
			}
			if err := os.WriteFile(out+".part", part, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := state.Save(out+".info", st, false); err != nil {
				t.Fatal(err)
			}
			infoBefore, _ := os.ReadFile(out + ".info")
			stderr, code := run(t, dir, "get", "-q", "-o", "out", srv.FileURL)
			if code != exitBadState || !bytes.Contains([]byte(stderr), []byte("--restart")) {
				t.Fatalf("exit %d, stderr %q; want %d with the --restart advice", code, stderr, exitBadState)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("the refused resume saved %s", out)
			}
			if infoAfter, _ := os.ReadFile(out + ".info"); !bytes.Equal(infoAfter, infoBefore) {
				t.Error("the refused resume changed the .info")
			}
			if stderr, code := run(t, dir, "get", "-q", "--restart", "-o", "out", srv.FileURL); code != 0 {
				t.Fatalf("--restart: exit %d: %s", code, stderr)
			}
			sameFile(t, out, data)
		})
	}
}

func covered(segs []state.Segment, off int64) bool {
	for _, s := range segs {
		if s.Start <= off && off < s.Next {
			return true
		}
	}
	return false
}

// TestStoredGzipNginx: a real nginx that labels a stored .tar.gz with
// "Content-Encoding: gzip" on HEAD and on every range, as Apache's
// "AddEncoding gzip .gz" does. The file saved is the server's file,
// byte-identical, fetched in ranges on several connections.
func TestStoredGzipNginx(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(content(4<<20, 25))
	zw.Close()
	stored := gz.Bytes()
	if err := os.WriteFile(filepath.Join(root, "f.tar.gz"), stored, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := nginxtest.Start(t, nginxtest.Options{Root: root})
	url := srv.URL + "/encoded/f.tar.gz"
	// The premise: nginx labels both the HEAD and a range so.
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		req, _ := http.NewRequest(method, url, nil)
		req.Header.Set("Range", "bytes=100-199")
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
			t.Fatalf("%s: Content-Encoding %q, want gzip", method, ce)
		}
	}
	dir := t.TempDir()
	events, code := getJSON(t, dir, "-n", "4", url)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	sameFile(t, filepath.Join(dir, "f.tar.gz"), stored)
	if n := lastEvent(t, events, "done")["connections"].(float64); n < 2 {
		t.Errorf("%v connections: the stored .gz was not fetched in ranges", n)
	}
}

// probeRequest reports whether r is one of the probe's requests: its GET
// from byte 0 (of the first piece, or of the first byte for a resume),
// which names the version and so carries no If-Range, or a HEAD (sent
// only to confirm a Content-Encoding).
func probeRequest(r *http.Request) bool {
	return r.Method == http.MethodHead ||
		strings.HasPrefix(r.Header.Get("Range"), "bytes=0-") && r.Header.Get("If-Range") == ""
}
