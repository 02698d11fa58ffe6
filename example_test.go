package netfox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/netfox/netfox"
)

// exampleServer serves files of the given sizes at /NAME over Go's
// net/http on loopback; a server on the internet takes its place in a
// program. rate, when set, caps each response at that many bytes/s.
func exampleServer(rate int64, files map[string]int) *httptest.Server {
	modified := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, ok := files[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", fmt.Sprintf(`"%d"`, n))
		var out http.ResponseWriter = w
		if rate > 0 {
			out = &slowWriter{ResponseWriter: w, rate: rate}
		}
		http.ServeContent(out, r, "", modified, bytes.NewReader(bytes.Repeat([]byte("netfox "), n/7+1)[:n]))
	}))
}

// slowWriter throttles a response, as a slow link would.
type slowWriter struct {
	http.ResponseWriter
	rate int64
}

func (s *slowWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), 16<<10)]
		n, err := s.ResponseWriter.Write(chunk)
		written += n
		if err != nil {
			return written, err
		}
		time.Sleep(time.Duration(int64(n) * int64(time.Second) / s.rate))
		p = p[n:]
	}
	return written, nil
}

// A single download with progress printed as it goes: OnProgress gets the
// bytes, the total, the rate and the ETA, every ProgressInterval.
func ExampleClient_Download() {
	srv := exampleServer(0, map[string]int{"file.bin": 3 << 20})
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "netfox-example")
	defer os.RemoveAll(dir)

	client := netfox.NewClient(netfox.ClientOptions{})
	defer client.Close()
	var last netfox.Snapshot
	res, err := client.Download(context.Background(), netfox.Request{
		URL:    srv.URL + "/file.bin",
		Output: filepath.Join(dir, "file.bin"),
		OnProgress: func(s netfox.Snapshot) {
			// A program prints here, e.g.:
			// fmt.Printf("%d / %d bytes, %.0f B/s, ETA %v\n", s.Written, s.Length, s.Rate, s.ETA)
			last = s
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("saved %s: %d bytes\n", filepath.Base(res.Path), res.Size)
	fmt.Printf("last progress: %d of %d bytes (%.0f%%)\n", last.Written, last.Length, last.Percent())
	// Output:
	// saved file.bin: 3145728 bytes
	// last progress: 3145728 of 3145728 bytes (100%)
}

// A download cancelled half-way, then resumed by a second call with the
// same Output: the second fetches only the bytes the first did not.
func ExampleDownload_resume() {
	srv := exampleServer(2<<20, map[string]int{"file.bin": 2 << 20})
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "netfox-example")
	defer os.RemoveAll(dir)
	req := netfox.Request{URL: srv.URL + "/file.bin", Output: filepath.Join(dir, "file.bin")}

	ctx, cancel := context.WithCancel(context.Background())
	first := req
	first.ProgressInterval = 20 * time.Millisecond
	first.OnProgress = func(s netfox.Snapshot) {
		if s.Written >= 512<<10 {
			cancel() // the user pressed Ctrl-C
		}
	}
	_, err := netfox.Download(ctx, first)
	fmt.Println("first call cancelled:", errors.Is(err, context.Canceled))

	res, err := netfox.Download(context.Background(), req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("second call resumed:", res.Resumed > 0, "- complete:", res.Resumed+res.Fetched == res.Size)
	// Output:
	// first call cancelled: true
	// second call resumed: true - complete: true
}

// A batch: twenty files through one Client, eight at a time, with at most
// eight connections to the host; one result per file, in order.
func ExampleClient_DownloadAll() {
	files := map[string]int{}
	for i := range 20 {
		files[fmt.Sprintf("f%02d.bin", i)] = 100_000 + i
	}
	files["f07.bin"] = 0 // an empty file is a file too
	srv := exampleServer(0, files)
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "netfox-example")
	defer os.RemoveAll(dir)

	client := netfox.NewClient(netfox.ClientOptions{MaxConnectionsPerHost: 8})
	defer client.Close()
	var reqs []netfox.Request
	for i := range 20 {
		name := fmt.Sprintf("f%02d.bin", i)
		reqs = append(reqs, netfox.Request{URL: srv.URL + "/" + name, Output: filepath.Join(dir, name)})
	}
	reqs = append(reqs, netfox.Request{URL: srv.URL + "/missing.bin", Output: filepath.Join(dir, "missing.bin")})
	var total int64
	for i, r := range client.DownloadAll(context.Background(), reqs, netfox.BatchOptions{Parallel: 8}) {
		var status *netfox.StatusError
		if errors.As(r.Err, &status) {
			fmt.Printf("%s failed: HTTP %d\n", filepath.Base(reqs[i].Output), status.Code)
			continue
		}
		if r.Err != nil {
			log.Fatal(r.Err)
		}
		total += r.Result.Size
	}
	fmt.Println("bytes saved:", total)
	// Output:
	// missing.bin failed: HTTP 404
	// bytes saved: 1900183
}

// Two downloads on one Client, driven through their handles: one is
// paused while the other runs with its cap lifted, then resumed; both end
// complete.
func ExampleClient_Start() {
	srv := exampleServer(0, map[string]int{"a.bin": 4 << 20, "b.bin": 2 << 20})
	defer srv.Close()
	dir, err := os.MkdirTemp("", "netfox-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	client := netfox.NewClient(netfox.ClientOptions{})
	defer client.Close()
	ctx := context.Background()
	a, err := client.Start(ctx, netfox.Request{URL: srv.URL + "/a.bin", Output: filepath.Join(dir, "a.bin"), LimitRate: 1 << 20})
	if err != nil {
		log.Fatal(err)
	}
	b, err := client.Start(ctx, netfox.Request{URL: srv.URL + "/b.bin", Output: filepath.Join(dir, "b.bin"), LimitRate: 256 << 10})
	if err != nil {
		log.Fatal(err)
	}
	if err := a.Pause(); err != nil { // a keeps its .part and .info
		log.Fatal(err)
	}
	b.SetLimitRate(0) // b's cap lifted while it runs
	if _, err := b.Wait(); err != nil {
		log.Fatal(err)
	}
	a.SetLimitRate(0)
	if err := a.Resume(); err != nil { // a goes on where it stood
		log.Fatal(err)
	}
	res, err := a.Wait()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(filepath.Base(res.Path), res.Size)
	// Output: a.bin 4194304
}
