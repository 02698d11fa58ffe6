package engine

import (
	"net/http"
	"sync"
	"time"

	"github.com/netfox/netfox/fileaccess"
	"github.com/netfox/netfox/internal/syserr"
	"github.com/netfox/netfox/segment"
)

// AutoConnections as Job.Connections finds the count by measurement.
const AutoConnections = -1

// Job is one download as the engine runs it: a netfox.Request after its
// one normalisation (netfox's request.go), so every field has its final
// value and every default is applied. The engine applies none itself,
// except those of the layers below (retry, segment), which take zero as
// their own default. The fields mean what the Request's of the same
// name mean.
type Job struct {
	URL       string
	Mirrors   []string
	Output    string
	Dir       string
	Protected []string

	Connections int // 1 to netfox.MaxConnections, or AutoConnections
	AutoMax     int
	CacheDir    string
	MinSplit    int64

	Restart, Overwrite, Continue bool
	Checksum                     *Checksum

	User, Password        string
	Header                http.Header
	UserAgent             string
	Credentials           func(host string) (user, password string, ok bool)
	LocationTrusted       bool
	AllowInsecureRedirect bool

	MaxTries    int
	StallSpeed  int64
	StallWindow time.Duration
	RetryWait   time.Duration

	CheckpointInterval time.Duration
	SyncInterval       time.Duration

	// Progress, when set, is kept up to date; OnEvent, when set, receives
	// the events.
	Progress *Progress
	OnEvent  func(Event)
}

// Env is what the Client that runs a job gives it.
type Env struct {
	// HTTP does the requests.
	HTTP *http.Client
	// UserAgent is sent when the job sets neither UserAgent nor a
	// User-Agent header.
	UserAgent string
	// Budget bounds the connections to each host, with the Client's
	// other downloads.
	Budget *Budget
	// Buffers are the read buffers the Client's downloads share.
	Buffers *sync.Pool
	// Limits cap the bytes per second: the transfer's own and the
	// Client's.
	Limits []*segment.Limit
}

// MaxConnections is the most connections a job may use
// (netfox.MaxConnections).
const MaxConnections = 256

// AutoStart is where AutoConnections starts for a host it has no count
// for (netfox.AutoStart).
const AutoStart = 4

// LocalPressure reports whether err is a shortage of a local resource
// (too many open files, a full disk, no socket buffers) that other
// downloads running at the same time may have caused.
func LocalPressure(err error) bool {
	return syserr.TooManyFiles(err) || fileaccess.DiskFull(err) || syserr.NoBuffers(err)
}
