package netfox

import (
	"time"

	"github.com/netfox/netfox/internal/engine"

	"github.com/netfox/netfox/retry"
	"github.com/netfox/netfox/segment"
)

// The library's defaults, in one place. In a Request, a ClientOptions and
// the engine below them, a zero field means its default and, where a rule
// can be turned off (StallWindow), a negative value means off. The
// defaults of the engine's own rules are defined by the engine (packages
// retry and segment) and named here, not restated.

// Version is netfox's version, named in the default User-Agent.
const Version = "0.1"

// DefaultUserAgent is the User-Agent of a Client that does not set one.
const DefaultUserAgent = "netfox/" + Version

// DefaultMaxConnectionsPerHost is a Client's connection budget per host
// when its options do not say.
const DefaultMaxConnectionsPerHost = 16

// DefaultConnections is the number of connections when a Request does not
// say.
const DefaultConnections = 8

// MaxConnections is the most connections a Request may ask for; beyond it
// a server sees a flood rather than a download.
const MaxConnections = engine.MaxConnections

// AutoStart is where AutoConnections starts for a host it has no count
// for.
const AutoStart = engine.AutoStart

// DefaultAutoMax is the most connections AutoConnections uses when
// Request.AutoMax does not say.
const DefaultAutoMax = 16

// DefaultMinSplit is the smallest segment when Request.MinSplit is zero.
const DefaultMinSplit = 1 << 20

// DefaultStreamWindow is the memory a Stream holds at most for data
// fetched ahead of what it has written.
const DefaultStreamWindow = 32 << 20

// Defaults of the Request's retry and stall rules.
const (
	// DefaultMaxTries is Request.MaxTries when zero: the attempts of a
	// segment without progress, or of the first request.
	DefaultMaxTries = retry.DefaultTries
	// DefaultRetryWait is Request.RetryWait when zero: the longest wait
	// between two tries.
	DefaultRetryWait = retry.DefaultCeiling
	// DefaultStallSpeed and DefaultStallWindow are Request.StallSpeed and
	// StallWindow when zero: a connection slower than 1 KiB/s over 10 s
	// is cut.
	DefaultStallSpeed  = segment.DefaultStallSpeed
	DefaultStallWindow = segment.DefaultStallWindow
)

// Defaults of the Request's intervals.
const (
	// DefaultCheckpointInterval is how often the .info is saved.
	DefaultCheckpointInterval = 100 * time.Millisecond
	// DefaultSyncInterval is how often the .part is flushed and a
	// durable .info saved.
	DefaultSyncInterval = 5 * time.Second
	// DefaultProgressInterval is the time between two OnProgress calls.
	DefaultProgressInterval = time.Second
)
