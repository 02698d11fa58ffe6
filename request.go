package netfox

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/netfox/netfox/internal/engine"
	"github.com/netfox/netfox/siteinfo"
)

// Request describes one download.
type Request struct {
	// URL is the file to fetch (http, https or ftp).
	URL string
	// Mirrors are more addresses of the same file (http, https, ftp
	// mixed). The connections are spread over URL and Mirrors, more work
	// goes to the faster ones, and one that fails is dropped. Mirrors of
	// another length are refused.
	Mirrors []string
	// Output is the path to write. Empty means the name the server
	// suggests (Content-Disposition, else the URL path), made safe, in Dir.
	Output string
	// Dir is the directory for a derived output name; empty means the
	// current directory.
	Dir string
	// Connections is the number of parallel connections, 1 to
	// MaxConnections. Zero means DefaultConnections. AutoConnections
	// finds the number by measurement: it starts at the count remembered
	// for the host (else AutoStart), adds connections while each step
	// raises the rate by 10%, gives back the step that does not, and
	// remembers the count that worked in CacheDir.
	Connections int
	// AutoMax is the most connections AutoConnections may use; zero
	// means 16.
	AutoMax int
	// CacheDir is where AutoConnections remembers a count per host;
	// empty means DefaultCacheDir.
	CacheDir string
	// Restart discards a partial download instead of resuming it.
	Restart bool
	// Overwrite replaces an existing complete file at Output. A file
	// whose name the server chose (no Output) is replaced only when
	// netfox downloaded it from the same origin, by the record it keeps
	// in the file (complete.go); anything but a regular file never is.
	Overwrite bool
	// Protected are paths never to be an output, whatever Overwrite
	// says: the list of URLs a batch reads (the CLI's -i). An output path
	// naming one of them, by any name (os.SameFile), is refused with
	// ErrExists and ErrProtected.
	Protected []string
	// Continue takes over a partial file that another program (a browser,
	// curl, wget) or a download that lost its .info left at Output or
	// Output.part: 9 windows spread over it (512 KiB in all; all of it when
	// smaller) are fetched again, and when they equal the remote's bytes
	// the rest is downloaded as if
	// netfox had stopped there. A file as long as the remote that matches
	// is reported complete. A file that does not match, or is longer than
	// the remote, is left as it was and Download returns ErrNotPartial.
	// It excludes Restart and Overwrite.
	Continue bool

	// LimitRate caps the whole download at this many bytes per second,
	// shared by all connections; zero means no cap.
	LimitRate int64

	// Checksum, when set, is verified after the last byte; on a mismatch
	// the file stays as .part and Download returns ErrChecksum. It also
	// lets a resume go on where the server gives no validator to check.
	Checksum *Checksum

	// User and Password are the credentials for servers that ask: the
	// FTP login (else anonymous) and HTTP basic authentication. A URL's
	// own user:password@ wins.
	User, Password string

	// Header is sent with every request.
	Header http.Header
	// UserAgent is the User-Agent header, unless Header has one; empty
	// means the Client's (DefaultUserAgent).
	UserAgent string
	// HTTPClient does the requests; nil means the Client's shared one
	// (for Download, NewHTTPClient with Transport). Setting both
	// HTTPClient and Transport is refused: Transport would be ignored.
	HTTPClient *http.Client
	// Transport holds the proxy, TLS and cookie settings of the client
	// Download builds. With a Client, they are ClientOptions.Transport.
	Transport TransportOptions
	// Credentials, when set, gives the user and password for a host whose
	// URL has none and for which User is empty (a ~/.netrc lookup).
	Credentials func(host string) (user, password string, ok bool)
	// LocationTrusted sends the credentials (User, the URL's, Credentials',
	// and Authorization and Cookie in Header) to the target of a redirect
	// to another origin too (curl's --location-trusted). By default they
	// go only to the scheme, host and port each address was given with.
	LocationTrusted bool
	// AllowInsecureRedirect follows a redirect from https to http, which
	// otherwise fails with ErrInsecureRedirect. No credentials are sent
	// over http even then.
	AllowInsecureRedirect bool
	// MaxTries bounds consecutive failed attempts per segment. Zero
	// means 5.
	MaxTries int
	// StallSpeed and StallWindow define a stalled connection: fewer than
	// StallSpeed bytes per second over StallWindow. It is cut and its
	// range retried on a new connection. Zero means 1 KiB/s and 10s; a
	// negative StallWindow turns the check off.
	StallSpeed  int64
	StallWindow time.Duration
	// RetryWait caps the wait between two tries of a segment (exponential
	// backoff from 250ms, with jitter; a server's Retry-After may ask for
	// more, up to five times this). Zero means 10s.
	RetryWait time.Duration
	// MinSplit is the smallest segment: a file gets one connection per
	// MinSplit bytes, up to Connections (so a small file is fetched over
	// one), and no range smaller is cut off a running segment for an
	// idle connection. Zero means 1 MiB.
	MinSplit int64

	// CheckpointInterval is how often the .info file is saved (cheaply,
	// without fsync). It bounds what a kill -9 costs: about one interval
	// of transfer. Zero means 100ms.
	CheckpointInterval time.Duration
	// SyncInterval is how often the .part file is flushed and a durable
	// .info saved. It bounds what a power loss costs. Zero means 5s.
	SyncInterval time.Duration

	// OnProgress, when set, is called with the download's state every
	// ProgressInterval while it runs and once more as it ends, from a
	// goroutine of the download: a caller prints progress without a
	// goroutine or ticker of its own. (A program holding a Transfer may
	// read Transfer.Snapshot whenever it likes instead.)
	OnProgress func(Snapshot)
	// ProgressInterval is the time between two OnProgress calls; zero
	// means one second.
	ProgressInterval time.Duration
	// OnEvent, when set, receives the download's events as they happen
	// (see Event and EventKind): the notices meant for the user (a
	// fallback, a fresh start, a retry), and the scheduler's work (steals,
	// hedges, cuts, replaced connections, -n auto's steps). It is called
	// from the download's goroutines, one call at a time per event, and
	// should return quickly.
	OnEvent func(Event)
}

// AutoConnections as Request.Connections finds the number of connections
// by measurement (-n auto).
const AutoConnections = engine.AutoConnections

// TransportOptions are the network settings of a download's HTTP client.
type TransportOptions struct {
	// Proxy is the proxy for every request; nil means the environment's
	// HTTP_PROXY, HTTPS_PROXY and NO_PROXY.
	Proxy *url.URL
	// TLS configures HTTPS (a private CA, or no verification); nil means
	// the system's roots.
	TLS *tls.Config
	// Jar holds cookies sent with the requests (--load-cookies).
	Jar http.CookieJar
}

// NewHTTPClient returns a client for segmented downloads: one transport
// whose idle connections a finished segment hands to the next range, no
// transparent compression (byte offsets must be the file's), bounded
// connect and header waits but no overall timeout, since a large download
// may take hours.
//
// It speaks HTTP/1.1 only, over TLS too (ALPN offers just "http/1.1"):
// with HTTP/2 every range would be a stream of one TCP connection, and a
// segmented download's speed comes from several TCP connections, each
// with its own congestion window and its own share of a per-connection
// cap. The connections share a TLS session cache, so only the first
// handshake with a host is a full one; the others resume it.
func NewHTTPClient(connections int, opts TransportOptions) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if opts.Proxy != nil {
		t.Proxy = http.ProxyURL(opts.Proxy)
	}
	tlsConfig := &tls.Config{}
	if opts.TLS != nil {
		tlsConfig = opts.TLS.Clone()
	}
	if tlsConfig.ClientSessionCache == nil {
		tlsConfig.ClientSessionCache = tls.NewLRUClientSessionCache(0)
	}
	t.TLSClientConfig = tlsConfig
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	t.Protocols = &protocols
	t.ForceAttemptHTTP2 = false
	t.DisableCompression = true
	t.MaxIdleConnsPerHost = connections
	// One more than the workers: the probe's connection may still be
	// closing when the workers dial; and the probe's hedges.
	t.MaxConnsPerHost = connections + 1 + engine.ProbeHedges
	t.ReadBufferSize = 64 << 10
	t.DialContext = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = 30 * time.Second
	t.MaxResponseHeaderBytes = siteinfo.MaxResponseHeaderBytes
	return &http.Client{Transport: t, Jar: opts.Jar}
}

// Normalized returns req with every default applied, or an error
// wrapping ErrUsage that says what cannot work: the one place of both,
// which every entry point (Start, Download, Stream, Stat, DownloadAll)
// goes through before any byte moves. A program that builds requests
// from user input (as the CLI does) calls it to check them first. A
// default is applied where a field is zero (and for the intervals, also
// negative); StallWindow stays negative, which turns the check off.
func (req Request) Normalized() (Request, error) {
	if req.Connections == 0 {
		req.Connections = DefaultConnections
	}
	if req.AutoMax == 0 {
		req.AutoMax = DefaultAutoMax
	}
	if req.MinSplit == 0 {
		req.MinSplit = DefaultMinSplit
	}
	if req.MaxTries == 0 {
		req.MaxTries = DefaultMaxTries
	}
	if req.RetryWait == 0 {
		req.RetryWait = DefaultRetryWait
	}
	if req.StallSpeed == 0 {
		req.StallSpeed = DefaultStallSpeed
	}
	if req.StallWindow == 0 {
		req.StallWindow = DefaultStallWindow
	}
	if req.CheckpointInterval <= 0 {
		req.CheckpointInterval = DefaultCheckpointInterval
	}
	if req.SyncInterval <= 0 {
		req.SyncInterval = DefaultSyncInterval
	}
	if req.ProgressInterval <= 0 {
		req.ProgressInterval = DefaultProgressInterval
	}
	return req, req.check()
}

// check refuses a normalised Request that cannot succeed.
func (req Request) check() error {
	if req.HTTPClient != nil && !req.Transport.isZero() {
		return errConflictingClient
	}
	if req.Checksum != nil {
		h, ok := engine.NewHash(req.Checksum.Algo)
		if !ok {
			return fmt.Errorf("%w: checksum algorithm %q (want sha256, sha512, sha384, sha224, sha1 or md5, in lower case)", ErrUsage, req.Checksum.Algo)
		}
		if len(req.Checksum.Sum) != h.Size() {
			return fmt.Errorf("%w: a %s checksum is %d bytes, not %d", ErrUsage, req.Checksum.Algo, h.Size(), len(req.Checksum.Sum))
		}
	}
	switch {
	case req.Connections != AutoConnections && (req.Connections < 1 || req.Connections > MaxConnections):
		return fmt.Errorf("%w: connections must be between 1 and %d, not %d", ErrUsage, MaxConnections, req.Connections)
	case req.AutoMax < 1 || req.AutoMax > MaxConnections:
		return fmt.Errorf("%w: the most connections must be between 1 and %d, not %d", ErrUsage, MaxConnections, req.AutoMax)
	case req.Continue && (req.Restart || req.Overwrite):
		return fmt.Errorf("%w: Continue takes over a partial file; it cannot be combined with Restart or Overwrite", ErrUsage)
	case req.LimitRate < 0:
		return fmt.Errorf("%w: LimitRate %d is negative", ErrUsage, req.LimitRate)
	case req.MinSplit < 0:
		return fmt.Errorf("%w: MinSplit %d is negative", ErrUsage, req.MinSplit)
	case req.MaxTries < 0:
		return fmt.Errorf("%w: MaxTries %d is negative", ErrUsage, req.MaxTries)
	case req.RetryWait < 0:
		return fmt.Errorf("%w: RetryWait %v is negative", ErrUsage, req.RetryWait)
	case req.StallSpeed < 0:
		return fmt.Errorf("%w: StallSpeed %d is negative", ErrUsage, req.StallSpeed)
	}
	// The addresses last: a program may check a request's options with
	// a stand-in address before it has the real ones.
	if err := siteinfo.CheckURL(req.URL); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	for _, m := range req.Mirrors {
		if err := siteinfo.CheckURL(m); err != nil {
			return fmt.Errorf("%w: mirror: %w", ErrUsage, err)
		}
	}
	return nil
}

// job is the engine's form of a normalised req, whose live state goes to
// progress.
func (req Request) job(progress *engine.Progress) engine.Job {
	j := engine.Job{
		URL: req.URL, Mirrors: req.Mirrors, Output: req.Output, Dir: req.Dir, Protected: req.Protected,
		Connections: req.Connections, AutoMax: req.AutoMax, CacheDir: req.CacheDir, MinSplit: req.MinSplit,
		Restart: req.Restart, Overwrite: req.Overwrite, Continue: req.Continue,
		User: req.User, Password: req.Password, Header: req.Header, UserAgent: req.UserAgent, Credentials: req.Credentials,
		LocationTrusted: req.LocationTrusted, AllowInsecureRedirect: req.AllowInsecureRedirect,
		MaxTries: req.MaxTries, StallSpeed: req.StallSpeed, StallWindow: req.StallWindow, RetryWait: req.RetryWait,
		CheckpointInterval: req.CheckpointInterval, SyncInterval: req.SyncInterval,
	}
	if req.Checksum != nil {
		j.Checksum = &engine.Checksum{Algo: req.Checksum.Algo, Sum: req.Checksum.Sum}
	}
	j.Progress = progress
	if on := req.OnEvent; on != nil {
		j.OnEvent = func(e engine.Event) { on(eventOf(e)) }
	}
	return j
}
