package netfox

import (
	"time"

	"github.com/netfox/netfox/internal/engine"
)

// Result describes a finished download.
type Result struct {
	// Path is the output file.
	Path string
	// Size is its length in bytes.
	Size int64
	// Fetched is the number of bytes received in this run; Resumed the
	// number taken over from an earlier, interrupted run.
	Fetched, Resumed int64
	// Elapsed is the wall time of this run.
	Elapsed time.Duration
	// Connections is the number of TCP connections the download went
	// over (probe included; an HTTP/2 client that multiplexes every range
	// on one connection counts one). For FTP it is the number of workers.
	Connections int
	// Parallel is the number of connections allowed at once at the end:
	// the Request's, or fewer when the server said it was overloaded, or
	// the one AutoConnections settled at.
	Parallel int
	// ParallelReason tells why Parallel is what it is: "fixed" (the
	// Request's count), "overloaded" (the server said so), and with
	// AutoConnections "gain" (one more step raised the rate by less than
	// 10%), "max" (AutoMax reached) or "finished" (the download ended
	// before the search). With mirrors, AutoConnections searches a count
	// for each source (Sources), Parallel is their sum and the reason
	// "mirrors" (ReasonMirrors).
	ParallelReason string
	// ParallelSteps are the changes of Parallel over the download, the
	// first at the start, with AutoConnections; nil otherwise.
	ParallelSteps []ParallelStep
	// Reconnects counts connections closed and replaced by a new one
	// because they stayed far below the others at their steady rate, or
	// went silent while the others delivered; Silent is how many of them
	// went silent (sent nothing for much longer than the others take).
	// Retries counts the retries after failed attempts.
	Reconnects, Silent, Retries int
	// Sources are the bytes fetched in this run from URL and from each
	// mirror still in use, in the order of the Request.
	Sources []Source
	// AlreadyComplete reports that Path already held the remote's current
	// version, by the record netfox keeps in a finished file (the same
	// strong ETag, or the same origin and Last-Modified; see complete.go)
	// or by the Request's Checksum, and nothing was fetched.
	AlreadyComplete bool
}

// ParallelStep is one change of the number of connections.
type ParallelStep struct {
	// At is the time since the download began.
	At time.Duration
	// Connections is the new count; Rate the aggregate bytes per second
	// measured at the count before (0 when not measured).
	Connections int
	Rate        float64
	// Source is the index in Result.Sources of the source whose count
	// changed, when AutoConnections searched one for each; 0 otherwise.
	Source int
}

// Source is one address of the file and what it served.
type Source struct {
	URL     string
	Fetched int64
	// Parallel and ParallelReason are the count AutoConnections settled
	// at for this source and why (as Result's), when it searched one for
	// each source; zero and empty otherwise.
	Parallel       int
	ParallelReason string
	// Dropped tells why the source was not used or given up; empty when
	// it served to the end.
	Dropped string
}

// ReasonMirrors is Result.ParallelReason when AutoConnections searched a
// count for each source.
const ReasonMirrors = engine.ReasonMirrors

// resultOf is the engine's result as the API gives it.
func resultOf(r engine.Result) Result {
	out := Result{Path: r.Path, Size: r.Size, Fetched: r.Fetched, Resumed: r.Resumed, Elapsed: r.Elapsed,
		Connections: r.Connections, Parallel: r.Parallel, ParallelReason: r.ParallelReason,
		Reconnects: r.Reconnects, Silent: r.Silent, Retries: r.Retries, AlreadyComplete: r.AlreadyComplete}
	for _, s := range r.ParallelSteps {
		out.ParallelSteps = append(out.ParallelSteps, ParallelStep(s))
	}
	for _, s := range r.Sources {
		out.Sources = append(out.Sources, Source(s))
	}
	return out
}
