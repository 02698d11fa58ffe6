// Package testserver runs httptest servers that serve one file the way a
// real server does (http.ServeContent: Range, If-Range, ETag,
// Last-Modified), with faults layered on top by options: cut connections,
// ignored ranges, lying headers, a file that changes, error statuses.
package testserver

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Server is a running test server.
type Server struct {
	*httptest.Server
	// URL of the file.
	FileURL string

	mu       sync.Mutex
	content  []byte
	etag     string
	modTime  time.Time
	version  int
	requests atomic.Int64
	ranged   atomic.Int64 // GETs with a Range header
	sent     atomic.Int64
	opts     options
	log      []string // "METHOD Range If-Range -> status bytes"
}

type options struct {
	name           string
	noValidators   bool
	weakETag       bool
	ignoreRanges   bool
	noAcceptRanges bool
	noLength       bool
	headStatus     int
	disposition    string
	cutAfter       int64
	cutTimes       int64
	changeAfter    int64
	changeTo       []byte
	changeEvery    int64
	versions       [][]byte
	slowTimes      int64
	slowRate       int64
	stallAfter     int64
	stallTimes     int64
	status         int
	statusTimes    int64
	retryAfter     string
	lieShift       int64
	gzipRanges     bool
	rate           int64
	headLength     int64
	headLengthSet  bool
	align          int64
	wholeAs206     bool
	headEncoding   string
	getEncoding    string
	wrongLength    bool
}

// Option configures a Server.
type Option func(*options)

// Named serves the file at /NAME instead of /file.bin.
func Named(name string) Option { return func(o *options) { o.name = name } }

// NoValidators sends neither ETag nor Last-Modified.
func NoValidators() Option { return func(o *options) { o.noValidators = true } }

// WeakETag sends a weak ETag (W/"...").
func WeakETag() Option { return func(o *options) { o.weakETag = true } }

// IgnoreRanges answers every GET with the whole file (200), while still
// advertising Accept-Ranges: a server that lies about ranges.
func IgnoreRanges() Option { return func(o *options) { o.ignoreRanges = true } }

// NoAcceptRanges omits the Accept-Ranges header but still serves ranges.
func NoAcceptRanges() Option { return func(o *options) { o.noAcceptRanges = true } }

// NoLength streams the whole file chunked, without Content-Length or
// range support, answering HEAD without a length.
func NoLength() Option { return func(o *options) { o.noLength = true } }

// HeadStatus answers HEAD requests with this status.
func HeadStatus(code int) Option { return func(o *options) { o.headStatus = code } }

// ContentDisposition sends this Content-Disposition header.
func ContentDisposition(v string) Option { return func(o *options) { o.disposition = v } }

// CutAfter closes the connection after n body bytes in each of the first
// times GET responses.
func CutAfter(n int64, times int) Option {
	return func(o *options) { o.cutAfter, o.cutTimes = n, int64(times) }
}

// StallAfter sends n body bytes and then nothing more, holding the
// connection open until the client gives up, in each of the first times
// GET responses.
func StallAfter(n int64, times int) Option {
	return func(o *options) { o.stallAfter, o.stallTimes = n, int64(times) }
}

// SlowFirst throttles the first times GET responses to rate bytes/s, as
// a connection on a congested path would be; later ones follow
// RatePerResponse, if set.
func SlowFirst(times int, rate int64) Option {
	return func(o *options) { o.slowTimes, o.slowRate = int64(times), rate }
}

// ChangeAfter replaces the file by content (new ETag and Last-Modified)
// once n GET requests have been answered.
func ChangeAfter(n int, content []byte) Option {
	return func(o *options) { o.changeAfter, o.changeTo = int64(n), content }
}

// ChangeEvery switches the file to the next of versions (cycling) after
// every n GET requests: a remote that never holds still.
func ChangeEvery(n int, versions ...[]byte) Option {
	return func(o *options) { o.changeEvery, o.versions = int64(n), versions }
}

// Status answers the first times GET requests with code, and a
// Retry-After header when retryAfter is not empty.
func Status(code, times int, retryAfter string) Option {
	return func(o *options) { o.status, o.statusTimes, o.retryAfter = code, int64(times), retryAfter }
}

// LieContentRange shifts the Content-Range of every 206 by shift bytes
// while sending the bytes asked for.
func LieContentRange(shift int64) Option { return func(o *options) { o.lieShift = shift } }

// GzipRanges labels range responses Content-Encoding: gzip, as a
// compressing proxy would.
func GzipRanges() Option { return func(o *options) { o.gzipRanges = true } }

// HeadLength answers HEAD with Content-Length n whatever the file's
// length: a HEAD that lies.
func HeadLength(n int64) Option {
	return func(o *options) { o.headLength, o.headLengthSet = n, true }
}

// AlignRanges widens every range asked for to multiples of n bytes and
// labels the 206 with the range it sends: honest, but not what was asked.
func AlignRanges(n int64) Option { return func(o *options) { o.align = n } }

// WholeAs206 answers every range with the whole file as a 206, labelled
// "bytes 0-(N-1)/N": honest, but not what was asked.
func WholeAs206() Option { return func(o *options) { o.wholeAs206 = true } }

// ContentEncoding labels HEAD answers with onHead and GET answers with
// onGet as their Content-Encoding ("" for none), the bytes sent being the
// stored file: Apache's "AddEncoding gzip .gz" labels a stored .tar.gz so
// on both.
func ContentEncoding(onHead, onGet string) Option {
	return func(o *options) { o.headEncoding, o.getEncoding = onHead, onGet }
}

// WrongContentLength sends every 206 with a Content-Length one more than
// its Content-Range: a lie in the headers.
func WrongContentLength() Option { return func(o *options) { o.wrongLength = true } }

// RatePerResponse caps each response body at rate bytes per second.
func RatePerResponse(rate int64) Option { return func(o *options) { o.rate = rate } }

// New starts a server for content; it is closed at the end of the test.
func New(t testing.TB, content []byte, opts ...Option) *Server {
	s := &Server{content: content, modTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s.opts.name = "file.bin"
	for _, o := range opts {
		o(&s.opts)
	}
	s.etag = etagFor(content, 0)
	s.Server = httptest.NewServer(s)
	s.FileURL = s.URL + "/" + s.opts.name
	t.Cleanup(s.Close)
	return s
}

func etagFor(content []byte, version int) string {
	return fmt.Sprintf(`"v%d-%d"`, version, len(content))
}

// Requests is the number of requests answered so far.
func (s *Server) Requests() int64 { return s.requests.Load() }

// BytesSent is the number of body bytes written so far.
func (s *Server) BytesSent() int64 { return s.sent.Load() }

// Log returns one line per request: method, Range, If-Range, status.
func (s *Server) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// Validators returns the current ETag and Last-Modified values.
func (s *Server) Validators() (etag, lastModified string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.etag, s.modTime.Format(http.TimeFormat)
}

// Change replaces the file now, with new validators.
func (s *Server) Change(content []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changeLocked(content)
}

func (s *Server) changeLocked(content []byte) {
	s.version++
	s.content = content
	s.etag = etagFor(content, s.version)
	s.modTime = s.modTime.Add(time.Hour)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	if r.URL.Path != "/"+s.opts.name {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	var getN int64
	if r.Method == http.MethodGet {
		getN = s.ranged.Add(1)
		if s.opts.changeTo != nil && getN == s.opts.changeAfter+1 {
			s.changeLocked(s.opts.changeTo)
		}
		if s.opts.changeEvery > 0 && getN%s.opts.changeEvery == 0 {
			s.changeLocked(s.opts.versions[int(getN/s.opts.changeEvery)%len(s.opts.versions)])
		}
	}
	content, etag, modTime := s.content, s.etag, s.modTime
	s.mu.Unlock()
	rec := &recorder{ResponseWriter: w, status: 200}
	defer func() {
		s.sent.Add(rec.n)
		s.mu.Lock()
		s.log = append(s.log, fmt.Sprintf("%s range=%q if-range=%q -> %d %d", r.Method, r.Header.Get("Range"), r.Header.Get("If-Range"), rec.status, rec.n))
		s.mu.Unlock()
	}()
	_ = n

	if r.Method == http.MethodHead && s.opts.headStatus != 0 {
		rec.WriteHeader(s.opts.headStatus)
		return
	}
	if r.Method == http.MethodGet && getN <= s.opts.statusTimes {
		if s.opts.retryAfter != "" {
			w.Header().Set("Retry-After", s.opts.retryAfter)
		}
		http.Error(rec, http.StatusText(s.opts.status), s.opts.status)
		return
	}
	if s.opts.disposition != "" {
		w.Header().Set("Content-Disposition", s.opts.disposition)
	}
	if s.opts.noLength {
		s.serveNoLength(rec, r, content)
		return
	}
	if !s.opts.noValidators {
		tag := etag
		if s.opts.weakETag {
			tag = "W/" + tag
		}
		w.Header().Set("ETag", tag)
	}
	body := http.ResponseWriter(rec)
	if r.Method == http.MethodGet && getN <= s.opts.cutTimes {
		body = &truncator{ResponseWriter: rec, left: s.opts.cutAfter, then: cut}
	}
	if r.Method == http.MethodGet && getN <= s.opts.stallTimes {
		body = &truncator{ResponseWriter: body, left: s.opts.stallAfter, then: stallUntil(r.Context().Done())}
	}
	switch {
	case r.Method == http.MethodGet && getN <= s.opts.slowTimes:
		body = &throttle{ResponseWriter: body, rate: s.opts.slowRate, start: time.Now()}
	case s.opts.rate > 0:
		body = &throttle{ResponseWriter: body, rate: s.opts.rate, start: time.Now()}
	}
	if r.Method == http.MethodGet && s.opts.ignoreRanges {
		r.Header.Del("Range")
		w.Header().Set("Accept-Ranges", "bytes")
	}
	if s.opts.noAcceptRanges {
		body = &dropHeader{ResponseWriter: body, name: "Accept-Ranges"}
	}
	if s.opts.lieShift != 0 {
		body = &shiftContentRange{ResponseWriter: body, shift: s.opts.lieShift}
	}
	if s.opts.gzipRanges && r.Header.Get("Range") != "" && r.Method == http.MethodGet {
		// The header alone is the fault under test: a client must not
		// write a body whose coding it did not ask for.
		w.Header().Set("Content-Encoding", "gzip")
	}
	if r.Method == http.MethodHead && s.opts.headLengthSet {
		body = &setHeader{ResponseWriter: body, name: "Content-Length", value: strconv.FormatInt(s.opts.headLength, 10)}
	}
	if r.Method == http.MethodHead && s.opts.headEncoding != "" {
		w.Header().Set("Content-Encoding", s.opts.headEncoding)
	}
	if r.Method == http.MethodGet && s.opts.getEncoding != "" {
		w.Header().Set("Content-Encoding", s.opts.getEncoding)
	}
	if rg := r.Header.Get("Range"); rg != "" && r.Method == http.MethodGet {
		var first, last int64
		_, err := fmt.Sscanf(rg, "bytes=%d-%d", &first, &last)
		switch {
		case s.opts.wholeAs206:
			r.Header.Set("Range", "bytes=0-")
		case s.opts.align > 0 && err == nil:
			a := s.opts.align
			r.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", first/a*a, (last/a+1)*a-1))
		}
	}
	if s.opts.wrongLength {
		body = &shiftContentLength{ResponseWriter: body}
	}
	mt := modTime
	if s.opts.noValidators {
		mt = time.Time{}
	}
	http.ServeContent(body, r, s.opts.name, mt, bytes.NewReader(content))
}

func (s *Server) serveNoLength(w http.ResponseWriter, r *http.Request, content []byte) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	f, _ := w.(http.Flusher)
	for len(content) > 0 {
		n := min(len(content), 16<<10)
		w.Write(content[:n])
		if f != nil {
			f.Flush() // forces chunked encoding: no Content-Length
		}
		content = content[n:]
	}
}

type recorder struct {
	http.ResponseWriter
	status int
	n      int64
}

func (r *recorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }
func (r *recorder) Write(p []byte) (int, error) {
	n, err := r.ResponseWriter.Write(p)
	r.n += int64(n)
	return n, err
}
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// truncator sends left bytes, then calls then, whose error ends the body:
// a cut connection or a stall, depending on then.
type truncator struct {
	http.ResponseWriter
	left int64
	then func() error
}

func (c *truncator) Write(p []byte) (int, error) {
	if int64(len(p)) <= c.left {
		c.left -= int64(len(p))
		return c.ResponseWriter.Write(p)
	}
	n, _ := c.ResponseWriter.Write(p[:c.left])
	c.left = 0
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	return n, c.then()
}

// cut ends the response by closing the connection: net/http does that,
// without a log line, for a handler that panics with ErrAbortHandler.
func cut() error { panic(http.ErrAbortHandler) }

// stallUntil holds the response until gone is closed (the client left).
func stallUntil(gone <-chan struct{}) func() error {
	return func() error {
		<-gone
		return http.ErrAbortHandler
	}
}

type throttle struct {
	http.ResponseWriter
	rate  int64
	start time.Time
	n     int64
}

func (t *throttle) Write(p []byte) (int, error) {
	var written int
	for len(p) > 0 {
		k := min(len(p), 8<<10)
		m, err := t.ResponseWriter.Write(p[:k])
		written += m
		t.n += int64(m)
		if err != nil {
			return written, err
		}
		if f, ok := t.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		due := t.start.Add(time.Duration(float64(t.n) / float64(t.rate) * float64(time.Second)))
		time.Sleep(time.Until(due)) // pacing the server, not synchronising the test
		p = p[k:]
	}
	return written, nil
}

func (t *throttle) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

type dropHeader struct {
	http.ResponseWriter
	name string
}

func (d *dropHeader) WriteHeader(code int) {
	d.Header().Del(d.name)
	d.ResponseWriter.WriteHeader(code)
}

type shiftContentRange struct {
	http.ResponseWriter
	shift int64
}

func (s *shiftContentRange) WriteHeader(code int) {
	if code == http.StatusPartialContent {
		var first, last, size int64
		if _, err := fmt.Sscanf(s.Header().Get("Content-Range"), "bytes %d-%d/%d", &first, &last, &size); err == nil {
			s.Header().Set("Content-Range", "bytes "+strconv.FormatInt(first+s.shift, 10)+"-"+strconv.FormatInt(last+s.shift, 10)+"/"+strconv.FormatInt(size, 10))
		}
	}
	s.ResponseWriter.WriteHeader(code)
}

type setHeader struct {
	http.ResponseWriter
	name, value string
}

func (h *setHeader) WriteHeader(code int) {
	h.Header().Set(h.name, h.value)
	h.ResponseWriter.WriteHeader(code)
}

type shiftContentLength struct{ http.ResponseWriter }

func (s *shiftContentLength) WriteHeader(code int) {
	if n, err := strconv.ParseInt(s.Header().Get("Content-Length"), 10, 64); err == nil && code == http.StatusPartialContent {
		s.Header().Set("Content-Length", strconv.FormatInt(n+1, 10))
	}
	s.ResponseWriter.WriteHeader(code)
}
