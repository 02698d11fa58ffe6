// Package nginxtest starts a private nginx on loopback for integration tests and benchmarks.
//
// Each Server is a real nginx binary (Debian package nginx-light) running as a
// non-daemon child process with its own generated configuration, logs, pid file
// and temp directories inside a private temp directory, so nothing under /var or
// /etc is read or written. It listens on 127.0.0.1 on a free port.
//
// The generated configuration serves Options.Root at three prefixes, and at
// those of Options.Locations:
//
//	/           plain static files, capped at Options.RatePerConn if set
//	/noranges/  the same files with "max_ranges 0;", so Range is ignored and
//	            every GET answers 200 with the full body
//	/encoded/   the same files labelled "Content-Encoding: gzip" on every
//	            answer, HEAD and ranges alike, as Apache's "AddEncoding gzip
//	            .gz" serves a stored .tar.gz
//
// Starting, waiting until nginx is ready and stopping it are
// internal/daemon's, shared with internal/ftptest.
//
// nginx runs with "master_process off", i.e. as a single process. That keeps
// shutdown simple (no orphaned worker if the test binary dies), and it is what
// makes BodyBytesSent exact: one event loop means a barrier request orders
// against every earlier response.
package nginxtest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/daemon"
)

// ErrNotInstalled is returned (wrapped) by StartProcess when no nginx binary is found.
var ErrNotInstalled = daemon.Unavailable("nginx not installed (apt-get install nginx-light)")

const (
	// stopGrace is how long nginx gets to exit after SIGQUIT before SIGKILL.
	stopGrace = 5 * time.Second

	// barrierPath is answered by nginx itself and excluded from the access
	// log; BodyBytesSent uses it to synchronise with the log (see there).
	barrierPath = "/.nginxtest-barrier"

	// Files in the private directory.
	confName  = "nginx.conf"
	pidName   = "nginx.pid"
	accessLog = "access.log"
)

// Options configures a Server.
type Options struct {
	// Root is the directory served (required). It is made absolute.
	Root string

	// RatePerConn caps each connection at this many bytes per second (nginx
	// limit_rate) in location /; 0 = no cap.
	//
	// Left alone, nginx lets a whole second's worth of bytes out at once
	// before throttling (so a transfer smaller than the rate is not slowed
	// at all). The location therefore also gets a small sendfile_max_chunk
	// (see SmoothChunk): nginx pauses after every send for send size/rate,
	// so small sends make the cap hold from the first bytes.
	RatePerConn int64

	// Locations are more locations, in every server block: each serves
	// Root at its Prefix, as /noranges/ does, with its Directives.
	// bench/nginx makes its /mixed/ so. HTTP are more directives at the
	// http level, each whole (with its ";" or block), such as a map that
	// a location reads.
	Locations []Location
	HTTP      []string

	// TLS adds a second listener that speaks HTTPS with HTTP/2 offered
	// ("listen ... ssl http2"), as most servers and CDNs on the internet
	// do, with the same locations. Its certificate, for 127.0.0.1 and
	// localhost, is made at start and is its own CA: Server.CAFile.
	// Its requests are logged apart, with the protocol and whether the
	// TLS session was resumed: Server.TLSRequests.
	TLS bool
}

// Location is a location block of Options.Locations.
type Location struct {
	// Prefix is the location's URL prefix, such as "/mixed/".
	Prefix string
	// Directives go inside the block, each whole, with its ";".
	Directives []string
}

// Server is a running nginx.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:PORT (no trailing slash).
	URL string
	// TLSURL is the HTTPS base URL, e.g. https://127.0.0.1:PORT, when
	// Options.TLS is set; CAFile is the PEM file of its certificate.
	TLSURL, CAFile string

	// Server is the running program; its private directory holds the
	// config, logs, pid and temp paths.
	*daemon.Server
}

// Binary reports the nginx path or "" when absent. It looks in PATH first and
// then at /usr/sbin/nginx, since /usr/sbin is often not in a non-root PATH.
func Binary() string { return daemon.Find("nginx") }

// Start starts nginx; when the binary is absent the test is skipped, or
// fails under NETFOX_REQUIRE_SERVERS=1 (daemon.Started). It registers
// t.Cleanup to stop nginx and remove its files; if the test failed by then,
// nginx's error log is logged first.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := start(opts)
	daemon.Started(t, "nginxtest", s, err)
	return s
}

// StartProcess is Start without testing.TB, for bench scripts and commands.
// It returns an error wrapping ErrNotInstalled when nginx is absent. The
// returned stop func stops nginx, removes its temp dir and is safe to call
// more than once.
func StartProcess(opts Options) (*Server, func() error, error) {
	s, err := start(opts)
	if err != nil {
		return nil, nil, err
	}
	return s, daemon.Stopper(s), nil
}

// BodyBytesSent returns the bytes-sent totals from the access log so far: the
// sum of $body_bytes_sent over all requests, and the number of requests.
//
// nginx writes a log line only after it has handed a response's last byte to
// the kernel, so a client that has just read a body may look before the line
// exists. To make "so far" include every response the caller has received,
// BodyBytesSent first makes a barrier request (not logged): nginx is a single
// event loop, so by the time it answers the barrier it has finished, and
// logged, every response whose last byte went out earlier.
func (s *Server) BodyBytesSent() (total int64, requests int, err error) {
	if err := s.barrier(); err != nil {
		return 0, 0, err
	}
	f, err := os.Open(filepath.Join(s.Dir(), accessLog))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// log_format: $connection $status $body_bytes_sent "$http_range" "$http_if_range"
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			return 0, 0, fmt.Errorf("nginxtest: malformed access log line %q", sc.Text())
		}
		n, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("nginxtest: malformed access log line %q: %v", sc.Text(), err)
		}
		total += n
		requests++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	return total, requests, nil
}

// barrier makes one request on a fresh connection, so it can never queue
// behind (or be answered ahead of) a pooled connection's state.
func (s *Server) barrier() error {
	c := &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true},
		Timeout:   stopGrace,
	}
	resp, err := c.Get(s.URL + barrierPath)
	if err != nil {
		return fmt.Errorf("nginxtest: barrier request: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("nginxtest: barrier request: unexpected status %s", resp.Status)
	}
	return nil
}

func start(opts Options) (*Server, error) {
	bin := Binary()
	if bin == "" {
		return nil, fmt.Errorf("nginxtest: %w", ErrNotInstalled)
	}
	root, err := daemon.Root("nginxtest", opts.Root)
	if err != nil {
		return nil, err
	}
	opts.Root = root
	if err := validate(opts); err != nil {
		return nil, err
	}
	s := new(Server)
	tlsPort := 0
	s.Server, err = daemon.Start(daemon.Spec{
		Harness: "nginxtest",
		Program: "nginx",
		Prepare: func(dir string) error {
			if err := checkPath(dir); err != nil {
				return err
			}
			if opts.TLS {
				return writeCertificate(dir)
			}
			return nil
		},
		Command: func(dir string, port int) (*exec.Cmd, error) {
			// A stale pid file must not pass for readiness.
			for _, name := range []string{pidName, accessLog} {
				os.Remove(filepath.Join(dir, name))
			}
			if opts.TLS {
				var err error
				if tlsPort, err = daemon.FreePort(); err != nil {
					return nil, fmt.Errorf("picking a port: %w", err)
				}
			}
			conf := filepath.Join(dir, confName)
			if err := os.WriteFile(conf, []byte(config(dir, port, tlsPort, opts)), 0o600); err != nil {
				return nil, err
			}
			return exec.Command(bin, "-p", dir+"/", "-c", conf), nil
		},
		// nginx prints to stderr before it has opened error_log (and for
		// config errors).
		Output:     "stderr.log",
		Logs:       []string{"error.log"},
		Ready:      ready,
		BindFailed: "Address already in use",
		StopSignal: syscall.SIGQUIT,
		StopGrace:  stopGrace,
		CleanExit:  true,
	})
	if err != nil {
		return nil, err
	}
	s.URL = "http://" + s.Addr()
	if opts.TLS {
		s.TLSURL = "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort))
		s.CAFile = filepath.Join(s.Dir(), certFile)
	}
	return s, nil
}

// ready reports whether nginx accepts connections. A TCP connect alone is
// not proof: if another process grabbed the port, the connect succeeds
// while nginx is failing to bind. nginx writes its pid file only after
// binding its listeners, so require our pid there first.
func ready(s *daemon.Server) bool {
	b, err := os.ReadFile(filepath.Join(s.Dir(), pidName))
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(s.Pid()) {
		return false
	}
	c, err := net.DialTimeout("tcp", s.Addr(), 100*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func validate(opts Options) error {
	if err := checkPath(opts.Root); err != nil {
		return err
	}
	if opts.RatePerConn < 0 {
		return fmt.Errorf("nginxtest: negative RatePerConn %d", opts.RatePerConn)
	}
	for _, l := range opts.Locations {
		if !strings.HasPrefix(l.Prefix, "/") || strings.ContainsAny(l.Prefix, " \t{};\"'") {
			return fmt.Errorf("nginxtest: unusable location prefix %q", l.Prefix)
		}
	}
	return nil
}

// checkPath rejects paths the generated config cannot carry literally: root
// and alias expand $variables, and control characters cannot be quoted.
func checkPath(p string) error {
	if strings.Contains(p, "$") || strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("nginxtest: path %q contains characters unusable in nginx config", p)
	}
	return nil
}

// quote makes s a single nginx config token.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// config renders nginx.conf. Every path nginx would otherwise take from its
// compiled-in defaults (/var/log/nginx, /var/lib/nginx, /run) is set
// explicitly to somewhere inside dir.
func config(dir string, port, tlsPort int, opts Options) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	in := func(name string) string { return quote(filepath.Join(dir, name)) }
	root := quote(opts.Root)
	alias := quote(opts.Root + "/")

	p("daemon off;")
	p("master_process off;")
	if os.Geteuid() == 0 {
		// Only meaningful when nginx starts as root, where it would otherwise
		// default to "nobody", which cannot read a 0700 test temp dir. (Unused
		// with master_process off, but keeps the config correct if that is
		// ever flipped.) As non-root nginx warns that "user" is ignored, so
		// leave it out.
		p("user root;")
	}
	p("worker_processes 1;")
	p("pid %s;", in(pidName))
	p("lock_file %s;", in("nginx.lock"))
	p("error_log %s warn;", in("error.log"))
	p("events { worker_connections 1024; }")
	p("http {")
	p("  types {}")
	p("  default_type application/octet-stream;")
	p("  sendfile on;")
	p("  tcp_nopush on;")
	p("  etag on;")
	// No buffer= on access_log: lines must be written at request end.
	p(`  log_format nginxtest '$connection $status $body_bytes_sent "$http_range" "$http_if_range"';`)
	p("  access_log %s nginxtest;", in(accessLog))
	p("  client_body_temp_path %s;", in("client_body_temp"))
	p("  proxy_temp_path %s;", in("proxy_temp"))
	p("  fastcgi_temp_path %s;", in("fastcgi_temp"))
	p("  uwsgi_temp_path %s;", in("uwsgi_temp"))
	p("  scgi_temp_path %s;", in("scgi_temp"))
	for _, d := range opts.HTTP {
		p("  %s", d)
	}
	p("  server {")
	p("    listen 127.0.0.1:%d;", port)
	locations(p, root, alias, opts)
	p("  }")
	if tlsPort != 0 {
		p(`  log_format nginxtest_tls '$connection $status $body_bytes_sent $server_protocol $ssl_protocol $ssl_session_reused "$http_range"';`)
		p("  server {")
		p("    listen 127.0.0.1:%d ssl http2;", tlsPort)
		p("    access_log %s nginxtest_tls;", in(tlsLog))
		p("    ssl_certificate %s;", in(certFile))
		p("    ssl_certificate_key %s;", in(keyFile))
		p("    ssl_session_cache shared:nginxtest:1m;")
		p("    ssl_session_tickets on;")
		locations(p, root, alias, opts)
		p("  }")
	}
	p("}")
	return b.String()
}

// locations renders the body of a server block: root, the
// locations of the package doc, and the barrier.
func locations(p func(string, ...any), root, alias string, opts Options) {
	p("    root %s;", root)
	p("    location / {")
	if opts.RatePerConn > 0 {
		p("      limit_rate %d;", opts.RatePerConn)
		p("      limit_rate_after 0;")
		p("      sendfile_max_chunk %d;", SmoothChunk(opts.RatePerConn))
	}
	p("    }")
	builtin := []Location{
		{"/noranges/", []string{"max_ranges 0;"}},
		{"/encoded/", []string{"add_header Content-Encoding gzip;"}},
	}
	for _, l := range append(builtin, opts.Locations...) {
		p("    location %s {", l.Prefix)
		p("      alias %s;", alias)
		for _, d := range l.Directives {
			p("      %s", d)
		}
		p("    }")
	}
	p("    location = %s {", barrierPath)
	p("      access_log off;")
	p("      return 204;")
	p("    }")
}

// SmoothChunk returns a sendfile_max_chunk for a location whose connections
// are capped at the given rates, or 0 to keep nginx's default.
//
// nginx's limit_rate allows rate*(whole seconds elapsed+1) bytes, capped per
// send by sendfile_max_chunk (default 2m), and after each send sleeps
// sent*1000/rate milliseconds (truncated). A chunk of rate/16 thus gives
// ~62 ms pauses: smooth, yet long enough that the millisecond truncation
// and timer granularity stay small. With several rates the chunk must also
// give the fastest at least ~16 ms pauses, or it could not reach its rate,
// so slower connections then pause longer (bursts of up to max/64 bytes).
// An uncapped connection (rate 0) would be held to about one chunk per
// millisecond, so any 0 rate disables the smoothing.
func SmoothChunk(rates ...int64) int64 {
	var lo, hi int64
	for _, r := range rates {
		if r <= 0 {
			return 0
		}
		if lo == 0 || r < lo {
			lo = r
		}
		hi = max(hi, r)
	}
	if lo == 0 {
		return 0
	}
	// 1 KiB floor: absurdly small sends for very low rates buy nothing.
	return max(lo/16, hi/64, 1024)
}
