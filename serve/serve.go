// Package serve is a small HTTP file server for demos, tests and
// benchmarks: it serves a directory with full Range, If-Range, ETag and
// Last-Modified support (net/http's ServeContent), and can imitate a real
// network by capping each TCP connection's rate, delaying the first byte
// and refusing connections beyond a limit.
package serve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Options configures a Server.
type Options struct {
	// Dir is the directory served.
	Dir string
	// RatePerConn caps every TCP connection at this many bytes per
	// second; zero means no cap.
	RatePerConn int64
	// RateTotal caps all connections together, like the link a server
	// sits behind; zero means no cap.
	RateTotal int64
	// Latency delays each response's first byte, imitating a long
	// round trip.
	Latency time.Duration
	// MaxConns answers 503 to requests beyond this many at once; zero
	// means no limit.
	MaxConns int
	// Log, when set, receives one line per request.
	Log *log.Logger
}

// Server serves Options.Dir. Its zero value is not usable; use New.
type Server struct {
	opts   Options
	active atomic.Int64
	sent   atomic.Int64
	etags  sync.Map // path + modtime + size -> strong ETag
}

// New returns a server for opts.
func New(opts Options) *Server { return &Server{opts: opts} }

// BytesSent is the number of body bytes written so far, over all requests.
func (s *Server) BytesSent() int64 { return s.sent.Load() }

// Listen opens a listener on addr whose connections are rate-capped as the
// options say.
func (s *Server) Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return s.WrapListener(ln), nil
}

// WrapListener applies the rate caps to ln's connections.
func (s *Server) WrapListener(ln net.Listener) net.Listener {
	if s.opts.RatePerConn <= 0 && s.opts.RateTotal <= 0 {
		return ln
	}
	l := &limitedListener{Listener: ln, rate: s.opts.RatePerConn}
	if s.opts.RateTotal > 0 {
		l.link = rate.NewLimiter(rate.Limit(s.opts.RateTotal), burstFor(s.opts.RateTotal))
	}
	return l
}

// burstFor is the largest write a limiter admits at once: small enough
// that a cap holds from the first bytes, large enough to keep the number
// of writes per second low.
func burstFor(r int64) int { return int(min(max(r/64, 4<<10), 32<<10)) }

// Serve serves on ln until ctx is cancelled, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutCtx); err != nil {
			srv.Close()
		}
		return nil
	}
}

// Start listens on addr and serves in the background. It returns the base
// URL ("http://host:port") and a function that shuts the server down
// gracefully and returns once every handler has finished, so counters
// such as BytesSent are final; it is safe to call more than once.
func (s *Server) Start(addr string) (baseURL string, stop func(), err error) {
	ln, err := s.Listen(addr)
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(ctx, ln)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	return "http://" + ln.Addr().String(), stop, nil
}

// ServeHTTP serves a file of the directory.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.MaxConns > 0 {
		if n := s.active.Add(1); n > int64(s.opts.MaxConns) {
			s.active.Add(-1)
			w.Header().Set("Retry-After", "1")
			http.Error(w, "too many connections", http.StatusServiceUnavailable)
			s.logf(r, http.StatusServiceUnavailable, 0)
			return
		}
		defer s.active.Add(-1)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := path.Clean("/" + r.URL.Path)
	// os.OpenInRoot cannot leave Dir on any system: not by "..", not by
	// a backslash on Windows ("/..%5c..%5cwin.ini"), not by a symbolic
	// link pointing out of it.
	f, err := os.OpenInRoot(s.opts.Dir, "."+name)
	if err != nil {
		http.NotFound(w, r)
		s.logf(r, http.StatusNotFound, 0)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		http.NotFound(w, r)
		s.logf(r, http.StatusNotFound, 0)
		return
	}
	w.Header().Set("ETag", s.etag(name, fi))
	if s.opts.Latency > 0 {
		t := time.NewTimer(s.opts.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	http.ServeContent(cw, r, fi.Name(), fi.ModTime(), f)
	s.sent.Add(cw.n)
	s.logf(r, cw.status, cw.n)
}

// etag is a strong tag derived from the file's identity (name, size,
// modification time), the way nginx and Apache derive theirs, so that a
// changed file gets a new tag without hashing its contents.
func (s *Server) etag(name string, fi os.FileInfo) string {
	key := fmt.Sprintf("%s|%d|%d", name, fi.Size(), fi.ModTime().UnixNano())
	if v, ok := s.etags.Load(key); ok {
		return v.(string)
	}
	sum := sha256.Sum256([]byte(key))
	tag := `"` + hex.EncodeToString(sum[:8]) + `"`
	s.etags.Store(key, tag)
	return tag
}

func (s *Server) logf(r *http.Request, status int, n int64) {
	if s.opts.Log == nil {
		return
	}
	rng := r.Header.Get("Range")
	if rng == "" {
		rng = "-"
	}
	s.opts.Log.Printf("%s %s %s range=%s status=%d bytes=%d", r.RemoteAddr, r.Method, r.URL.Path, rng, status, n)
}

type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (c *countingWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

// limitedListener gives every accepted connection its own rate limiter, as
// a CDN or mirror caps each connection, and makes them all share the link's.
type limitedListener struct {
	net.Listener
	rate int64         // per connection, 0 for none
	link *rate.Limiter // shared, nil for none
}

func (l *limitedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	lc := &limitedConn{Conn: c, link: l.link, burst: 32 << 10}
	if l.rate > 0 {
		lc.burst = burstFor(l.rate)
		lc.own = rate.NewLimiter(rate.Limit(l.rate), lc.burst)
	}
	if l.link != nil {
		lc.burst = min(lc.burst, l.link.Burst())
	}
	return lc, nil
}

type limitedConn struct {
	net.Conn
	own, link *rate.Limiter // either may be nil
	burst     int
}

// Write sends p in pieces of at most one burst, waiting for the limiters
// before each, so a large write cannot exceed the rate.
func (c *limitedConn) Write(p []byte) (int, error) {
	var written int
	for len(p) > 0 {
		n := min(len(p), c.burst)
		for _, lim := range []*rate.Limiter{c.own, c.link} {
			if lim == nil {
				continue
			}
			if err := lim.WaitN(context.Background(), n); err != nil {
				return written, err
			}
		}
		m, err := c.Conn.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}
