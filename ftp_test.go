package netfox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/ftptest"
	"github.com/netfox/netfox/internal/testserver"
)

// TestFTP downloads from a real vsftpd with 1, 4 and 8 connections, and
// checks in the server's log that each range was a REST at its start.
func TestFTP(t *testing.T) {
	root := t.TempDir()
	content := randomBytes(3<<20+123, 100)
	if err := os.WriteFile(filepath.Join(root, "f.bin"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := ftptest.Start(t, ftptest.Options{Root: root})
	for _, n := range []int{1, 4, 8} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			res, err := netfox.Download(context.Background(), netfox.Request{URL: srv.URL + "/f.bin", Output: out, Connections: n, MinSplit: 64 << 10})
			if err != nil {
				t.Fatal(err)
			}
			assertFile(t, out, content)
			if res.Fetched != int64(len(content)) {
				t.Errorf("fetched %d bytes for %d", res.Fetched, len(content))
			}
		})
	}
	cmds, err := srv.Commands()
	if err != nil {
		t.Fatal(err)
	}
	// The 4-connection run's ranges start at multiples of a quarter.
	quarter := (len(content) + 3) / 4
	for k := 1; k < 4; k++ {
		want := fmt.Sprintf("REST %d", k*quarter)
		if !contains(cmds, want) {
			t.Errorf("no %q in the server's log", want)
		}
	}
	if !contains(cmds, "SIZE /f.bin") || !contains(cmds, "MDTM /f.bin") {
		t.Errorf("no SIZE and MDTM in the server's log")
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestFTPResume interrupts a capped FTP download and resumes it; a file
// changed on the server in between (SIZE or MDTM) starts over instead.
func TestFTPResume(t *testing.T) {
	root := t.TempDir()
	content := randomBytes(2<<20, 101)
	path := filepath.Join(root, "f.bin")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := ftptest.Start(t, ftptest.Options{Root: root, RatePerConn: 512 << 10})
	url := srv.URL + "/f.bin"

	out := filepath.Join(t.TempDir(), "out")
	interrupted(t, url, out, 256<<10)
	res, err := netfox.Download(context.Background(), netfox.Request{URL: url, Output: out, Connections: 4})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	if res.Resumed < 256<<10 {
		t.Errorf("resumed only %d bytes", res.Resumed)
	}

	out2 := filepath.Join(t.TempDir(), "out")
	interrupted(t, url, out2, 256<<10)
	changed := randomBytes(2<<20, 102)
	if err := os.WriteFile(path, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour) // MDTM has one-second resolution
	os.Chtimes(path, later, later)
	var got notices
	res, err = netfox.Download(context.Background(), netfox.Request{URL: url, Output: out2, Connections: 4, OnEvent: got.add})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out2, changed)
	if res.Resumed != 0 || !got.has(netfox.EventRemoteChanged) {
		t.Errorf("resumed %d bytes of the old version; notices %v", res.Resumed, got.msgs)
	}
}

func TestFTPErrors(t *testing.T) {
	root := t.TempDir()
	srv := ftptest.Start(t, ftptest.Options{Root: root})
	_, err := netfox.Download(context.Background(), netfox.Request{URL: srv.URL + "/missing.bin", Output: filepath.Join(t.TempDir(), "out")})
	var se *netfox.StatusError
	if !asStatus(err, &se) || se.Code != 550 || !strings.Contains(err.Error(), "550") {
		t.Fatalf("missing file: got %v, want a 550 StatusError", err)
	}
}

// TestThreeMirrors: one file from two HTTP servers and an FTP server with
// different caps; byte-identical, every mirror used, the fastest most.
func TestThreeMirrors(t *testing.T) {
	root := t.TempDir()
	content := randomBytes(12<<20, 103)
	if err := os.WriteFile(filepath.Join(root, "f.bin"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	ftpSrv := ftptest.Start(t, ftptest.Options{Root: root, RatePerConn: 1 << 20})
	fast := testserver.New(t, content, testserver.RatePerResponse(4<<20))
	slow := testserver.New(t, content, testserver.RatePerResponse(512<<10))
	out := filepath.Join(t.TempDir(), "out")
	res, err := netfox.Download(context.Background(), netfox.Request{URL: ftpSrv.URL + "/f.bin", Mirrors: []string{fast.FileURL, slow.FileURL},
		Output: out, Connections: 6})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	var total int64
	for _, s := range res.Sources {
		t.Logf("%6.1f%% %9d bytes from %s", 100*float64(s.Fetched)/float64(len(content)), s.Fetched, s.URL)
		total += s.Fetched
	}
	// Each source's share is counted where the total is, when written:
	// the shares add up to the file, to the byte.
	if total != int64(len(content)) || res.Fetched != total || len(res.Sources) != 3 {
		t.Fatalf("sources %+v add up to %d, fetched %d, file %d", res.Sources, total, res.Fetched, len(content))
	}
	if res.Sources[1].Fetched <= res.Sources[0].Fetched || res.Sources[1].Fetched <= res.Sources[2].Fetched {
		t.Errorf("the fastest mirror did not serve the most: %+v", res.Sources)
	}
}
