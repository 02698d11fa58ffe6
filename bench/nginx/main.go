// Command nginx starts a private nginx on loopback exactly as the tests do
// (internal/nginxtest), prints its base URL on stdout and serves until it
// gets SIGINT or SIGTERM. On SIGUSR1 it prints "sent BYTES" (the sum of
// $body_bytes_sent over all requests so far). The bench scripts use it.
//
// With -tls it serves HTTPS with HTTP/2 offered, and prints the HTTPS URL
// and, on a second line, "ca FILE" (the certificate to trust). With
// -wan-latency or -wan-rate that URL goes through a simulated WAN link
// (internal/wan: toxiproxy in process) that gives every TCP connection
// the latency and bandwidth asked for.
//
//	go run ./bench/nginx -root DIR [-rate 2MiB] [-mixed 1MiB,8MiB] [-tls [-wan-latency 40ms] [-wan-rate 2MiB]]
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/netfox/netfox/internal/nginxtest"
	"github.com/netfox/netfox/internal/units"
	"github.com/netfox/netfox/internal/wan"
)

func main() {
	root := flag.String("root", "", "directory to serve")
	rate := flag.String("rate", "0", "per-connection cap at / (e.g. 2MiB; 0 = none)")
	mixed := flag.String("mixed", "", "comma-separated per-connection caps, alternating, at /mixed/")
	useTLS := flag.Bool("tls", false, "serve HTTPS with HTTP/2 offered")
	wanLatency := flag.Duration("wan-latency", 0, "with -tls: latency of the simulated WAN link per connection")
	wanRate := flag.String("wan-rate", "0", "with -tls: bandwidth of the simulated WAN link per connection")
	flag.Parse()
	opts := nginxtest.Options{Root: *root, TLS: *useTLS}
	var err error
	if opts.RatePerConn, err = units.ParseSize(*rate); err != nil {
		fail(err)
	}
	if *mixed != "" {
		for _, r := range strings.Split(*mixed, ",") {
			v, err := units.ParseSize(r)
			if err != nil {
				fail(err)
			}
			opts.MixedRates = append(opts.MixedRates, v)
		}
	}
	srv, stop, err := nginxtest.StartProcess(opts)
	if err != nil {
		fail(err)
	}
	if !*useTLS {
		fmt.Println(srv.URL)
	} else {
		link, err := wanLink(srv.TLSURL, *wanLatency, *wanRate)
		if err != nil {
			stop()
			fail(err)
		}
		fmt.Println(link)
		fmt.Println("ca", srv.CAFile)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	notifyReport(sig)
	for s := range sig {
		if s == os.Interrupt || s == syscall.SIGTERM {
			break
		}
		total, _, err := srv.BodyBytesSent()
		if err != nil {
			fail(err)
		}
		fmt.Println("sent", total)
	}
	if err := stop(); err != nil {
		fail(err)
	}
}

// wanLink returns base, or a URL through a simulated WAN link to it when
// a latency or a rate is asked for. The proxy lives as long as the process.
func wanLink(base string, latency time.Duration, rate string) (string, error) {
	bw, err := units.ParseSize(rate)
	if err != nil {
		return "", err
	}
	if latency <= 0 && bw <= 0 {
		return base, nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	p, err := wan.StartProcess(u.Host, wan.Link{Latency: latency, Bandwidth: bw})
	if err != nil {
		return "", err
	}
	u.Host = p.Addr
	return u.String(), nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/nginx:", err)
	os.Exit(1)
}
