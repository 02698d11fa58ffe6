// Command nginx starts a private nginx on loopback exactly as the tests do
// (internal/nginxtest), prints its base URL on stdout and serves until it
// gets SIGINT or SIGTERM. On SIGUSR1 it prints "sent BYTES" (the sum of
// $body_bytes_sent over all requests so far). The bench scripts use it.
//
// With -tls it serves HTTPS with HTTP/2 offered, and prints the HTTPS URL
// and, on a second line, "ca FILE" (the certificate to trust). With
// -wan-latency, -wan-rate or -wan-silent the URL printed (HTTP or HTTPS)
// goes through a simulated WAN link (internal/wan: toxiproxy in process)
// that gives every TCP connection the latency and bandwidth asked for,
// and silences the share -wan-silent of them for good (toxiproxy's timeout
// toxic: not even the response headers; with -wan-silent-after, after
// that many bytes of the answer).
//
//	go run ./bench/nginx -root DIR [-rate 2MiB] [-mixed 1MiB,8MiB] [-tls] [-wan-latency 40ms] [-wan-rate 2MiB] [-wan-silent 0.25 [-wan-silent-after 1MiB]]
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/netfox/netfox/internal/nginxtest"
	"github.com/netfox/netfox/internal/units"
	"github.com/netfox/netfox/internal/wan"
)

func main() {
	root := flag.String("root", "", "directory to serve")
	rate := flag.String("rate", "0", "per-connection cap at / (e.g. 2MiB; 0 = none)")
	mixed := flag.String("mixed", "", "comma-separated per-connection caps, alternating, at /mixed/")
	useTLS := flag.Bool("tls", false, "serve HTTPS with HTTP/2 offered")
	var link wan.Link
	flag.DurationVar(&link.Latency, "wan-latency", 0, "latency of the simulated WAN link per connection")
	wanRate := flag.String("wan-rate", "0", "bandwidth of the simulated WAN link per connection")
	flag.Float64Var(&link.Silent, "wan-silent", 0, "share of the connections (0-1) the simulated WAN link silences for good")
	silentAfter := flag.String("wan-silent-after", "0", "bytes of the answer a silenced connection passes first")
	flag.Parse()
	opts := nginxtest.Options{Root: *root, TLS: *useTLS}
	var err error
	if opts.RatePerConn, err = units.ParseSize(*rate); err != nil {
		fail(err)
	}
	if *mixed != "" {
		var rates []int64
		for _, r := range strings.Split(*mixed, ",") {
			v, err := units.ParseSize(r)
			if err != nil {
				fail(err)
			}
			rates = append(rates, v)
		}
		if err := addMixed(&opts, rates); err != nil {
			fail(err)
		}
	}
	srv, stop, err := nginxtest.StartProcess(opts)
	if err != nil {
		fail(err)
	}
	base := srv.URL
	if *useTLS {
		base = srv.TLSURL
	}
	u, err := wanLink(base, link, *wanRate, *silentAfter)
	if err != nil {
		stop()
		fail(err)
	}
	fmt.Println(u)
	if *useTLS {
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
// the link has any toxic. The proxy lives as long as the process.
func wanLink(base string, link wan.Link, rate, silentAfter string) (string, error) {
	var err error
	if link.Bandwidth, err = units.ParseSize(rate); err != nil {
		return "", err
	}
	if link.SilentAfter, err = units.ParseSize(silentAfter); err != nil {
		return "", err
	}
	if link.Latency <= 0 && link.Bandwidth <= 0 && link.Silent <= 0 {
		return base, nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	p, err := wan.StartProcess(u.Host, link)
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
