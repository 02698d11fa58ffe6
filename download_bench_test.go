package netfox_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/serve"
)

// BenchmarkDownload runs the whole pipeline (probe, 8 connections,
// checkpoints, final flush and rename) over loopback from a netfox serve
// server without caps, the case where netfox's own work per byte shows.
// Its CPU profile is the read path's:
//
//	go test -run '^$' -bench Download -benchtime 5x -cpuprofile cpu.out .
//	go tool pprof -top netfox.test cpu.out
//
// The server runs in the same process, so its reads and writes are in
// the profile too.
func BenchmarkDownload(b *testing.B) {
	const size, block = 256 << 20, 4 << 20
	// A random block repeated: cheap to write and to check, so that the
	// profile is the download's.
	pattern := randomBytes(block, 99)
	dir := b.TempDir()
	src, err := os.Create(filepath.Join(dir, "f"))
	if err != nil {
		b.Fatal(err)
	}
	for range size / block {
		if _, err := src.Write(pattern); err != nil {
			b.Fatal(err)
		}
	}
	if err := src.Close(); err != nil {
		b.Fatal(err)
	}
	base, stop, err := serve.New(serve.Options{Dir: dir}).Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	out := filepath.Join(b.TempDir(), "out")
	b.SetBytes(size)
	for b.Loop() { // setup runs once, outside the timing
		os.Remove(out)
		res, err := netfox.Download(context.Background(), netfox.Request{URL: base + "/f", Output: out, Connections: 8})
		if err != nil {
			b.Fatal(err)
		}
		if res.Fetched != size {
			b.Fatalf("fetched %d bytes, want %d", res.Fetched, size)
		}
	}
	b.StopTimer()
	f, err := os.Open(out)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, block)
	for i := range size / block {
		if _, err := io.ReadFull(f, got); err != nil || !bytes.Equal(got, pattern) {
			b.Fatalf("%s: block %d of %d differs from the source (read: %v)", out, i, size/block, err)
		}
	}
	if n, _ := f.Read(got); n != 0 {
		b.Fatalf("%s: longer than the %d bytes of the source", out, size)
	}
}
