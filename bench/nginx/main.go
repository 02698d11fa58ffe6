// Command nginx starts a private nginx on loopback exactly as the tests do
// (internal/nginxtest), prints its base URL on stdout and serves until it
// gets SIGINT or SIGTERM. On SIGUSR1 it prints "sent BYTES" (the sum of
// $body_bytes_sent over all requests so far). The bench scripts use it.
//
//	go run ./bench/nginx -root DIR [-rate 2MiB] [-mixed 1MiB,8MiB]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/netfox/netfox/internal/nginxtest"
	"github.com/netfox/netfox/internal/units"
)

func main() {
	root := flag.String("root", "", "directory to serve")
	rate := flag.String("rate", "0", "per-connection cap at / (e.g. 2MiB; 0 = none)")
	mixed := flag.String("mixed", "", "comma-separated per-connection caps, alternating, at /mixed/")
	flag.Parse()
	opts := nginxtest.Options{Root: *root}
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
	fmt.Println(srv.URL)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGUSR1)
	for s := range sig {
		if s != syscall.SIGUSR1 {
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

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/nginx:", err)
	os.Exit(1)
}
