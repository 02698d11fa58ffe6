package netfox_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/ftptest"
	"github.com/netfox/netfox/internal/testserver"
)

// TestContinue takes over partial files through the library: the result
// counts the adopted bytes as resumed and the overlap as fetched, and a
// file of other bytes is refused with ErrNotPartial and left as it was.
func TestContinue(t *testing.T) {
	content := randomBytes(3<<20, 180)
	srv := testserver.New(t, content)
	tests := []struct {
		name    string
		partial []byte
		err     error
		fetched int64
	}{
		{"2 MiB partial", content[:2<<20], nil, 1<<20 + 512<<10},    // the last MiB and the 512 KiB check
		{"small partial", content[:1000], nil, int64(len(content))}, // all of it checked again
		{"empty", nil, nil, int64(len(content))},
		{"complete", content, nil, 512 << 10},
		{"another file", randomBytes(2<<20, 181), netfox.ErrNotPartial, 0},
		{"longer", append(append([]byte(nil), content...), 'x'), netfox.ErrNotPartial, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			if err := os.WriteFile(out, tt.partial, 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 4, Continue: true})
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				assertFile(t, out, tt.partial)
				return
			}
			assertFile(t, out, content)
			if res.Resumed != int64(len(tt.partial)) || res.Fetched != tt.fetched {
				t.Errorf("resumed %d, fetched %d; want %d, %d", res.Resumed, res.Fetched, len(tt.partial), tt.fetched)
			}
			if len(res.Sources) != 1 || res.Sources[0].Fetched != tt.fetched || res.Connections < 1 || res.Parallel < 1 {
				t.Errorf("sources %+v, connections %d, parallel %d; want the URL with %d bytes fetched, at least one connection", res.Sources, res.Connections, res.Parallel, tt.fetched)
			}
		})
	}
}

// TestContinueThenResume: once adopted, the download is an ordinary one:
// interrupted right after the adoption, it resumes without Continue.
func TestContinueThenResume(t *testing.T) {
	content := randomBytes(3<<20, 182)
	srv := testserver.New(t, content, testserver.RatePerResponse(1<<20))
	out := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(out, content[:1<<20], 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := netfox.Request{URL: srv.FileURL, Output: out, Connections: 2, Continue: true,
		OnEvent: func(n netfox.Event) {
			if n.Kind == netfox.EventAdopted {
				cancel()
			}
		}}
	if _, err := netfox.Download(ctx, req); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if _, err := os.Stat(out + ".info"); err != nil {
		t.Fatalf("no .info after the adoption: %v", err)
	}
	req.Continue, req.OnEvent = false, nil
	res, err := netfox.Download(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	if res.Resumed < 1<<20 {
		t.Errorf("resumed %d bytes, want at least the adopted %d", res.Resumed, 1<<20)
	}
}

// TestContinueFTP takes over a partial file from a real vsftpd: the
// overlap is checked with a REST, as every range is.
func TestContinueFTP(t *testing.T) {
	root := t.TempDir()
	content := randomBytes(3<<20+17, 183)
	if err := os.WriteFile(filepath.Join(root, "f.bin"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := ftptest.Start(t, ftptest.Options{Root: root})
	out := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(out+".part", content[:2<<20], 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := netfox.Download(context.Background(), netfox.Request{URL: srv.URL + "/f.bin", Output: out, Connections: 4, Continue: true})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	if res.Resumed != 2<<20 {
		t.Errorf("resumed %d, want %d", res.Resumed, 2<<20)
	}
	other := bytes.Repeat([]byte{'x'}, 1000)
	if err := os.WriteFile(out+"2", other, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = netfox.Download(context.Background(), netfox.Request{URL: srv.URL + "/f.bin", Output: out + "2", Continue: true})
	if !errors.Is(err, netfox.ErrNotPartial) {
		t.Fatalf("err %v, want ErrNotPartial", err)
	}
	assertFile(t, out+"2", other)
}

// TestContinueGroupWritable: a partial of the user's that a umask of 002
// left group-writable is taken over (and made private as the .part); a
// lone .part like it is refused as others may have written it.
func TestContinueGroupWritable(t *testing.T) {
	content := randomBytes(3<<20, 182)
	srv := testserver.New(t, content)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.WriteFile(out, content[:2<<20], 0o664); err != nil {
		t.Fatal(err)
	}
	os.Chmod(out, 0o664)
	if _, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 4, Continue: true}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)

	out = filepath.Join(dir, "lone")
	if err := os.WriteFile(out+".part", content[:2<<20], 0o664); err != nil {
		t.Fatal(err)
	}
	os.Chmod(out+".part", 0o664)
	_, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 4, Continue: true})
	if !errors.Is(err, netfox.ErrForeign) {
		t.Fatalf("group-writable lone .part: %v, want ErrForeign", err)
	}
	assertFile(t, out+".part", content[:2<<20])
}
