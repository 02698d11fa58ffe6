package main

import (
	"fmt"

	"github.com/netfox/netfox/internal/nginxtest"
)

// addMixed adds location /mixed/ to opts: the files of / with connections
// capped at different rates (bytes/s), for "connections of mixed speed"
// benchmarks. nginx's map can only match strings, so the rate is chosen
// from the last decimal digit d of the connection serial number
// $connection: connection n gets rates[d % len(rates)]. For len 1, 2, 5
// or 10 that is exactly rates[n % len], i.e. strict round robin (len 2
// alternates even/odd connections); for other lengths up to 10 every rate
// is still used but not equally often. More than 10 rates is an error. A
// rate of 0 means uncapped.
//
// As for nginxtest's RatePerConn, /mixed/ gets a sendfile_max_chunk so
// that caps hold from the first bytes, unless one of the rates is 0: a
// chunk small enough for the slow connections would also throttle an
// uncapped one (to about one chunk per millisecond), so then the capped
// connections keep nginx's native one-second burst.
//
// Connection serials are per server and start at 1; nginxtest's readiness
// probe uses one, and each BodyBytesSent call uses one more.
func addMixed(opts *nginxtest.Options, rates []int64) error {
	n := len(rates)
	if n > 10 {
		return fmt.Errorf("at most 10 mixed rates supported, got %d", n)
	}
	for _, r := range rates {
		if r < 0 {
			return fmt.Errorf("negative mixed rate %d", r)
		}
	}
	if n == 0 {
		return nil
	}
	m := "map $connection $bench_mixed_rate {"
	for i, rate := range rates {
		var digits []byte
		for d := i; d < 10; d += n {
			digits = append(digits, byte('0'+d))
		}
		m += fmt.Sprintf(" ~[%s]$ %d;", digits, rate)
	}
	// Unreachable ($connection always ends in a digit); map needs a value
	// for anything else anyway.
	m += fmt.Sprintf(" default %d; }", rates[0])
	opts.HTTP = append(opts.HTTP, m)
	loc := nginxtest.Location{Prefix: "/mixed/", Directives: []string{"limit_rate $bench_mixed_rate;", "limit_rate_after 0;"}}
	if chunk := nginxtest.SmoothChunk(rates...); chunk > 0 {
		loc.Directives = append(loc.Directives, fmt.Sprintf("sendfile_max_chunk %d;", chunk))
	}
	opts.Locations = append(opts.Locations, loc)
	return nil
}
