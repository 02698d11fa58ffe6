package engine

import "time"

// Result describes a download's end (netfox.Result documents each field).
type Result struct {
	Path                        string
	Size                        int64
	Fetched, Resumed            int64
	Elapsed                     time.Duration
	Connections                 int
	Parallel                    int
	ParallelReason              string
	ParallelSteps               []ParallelStep
	Reconnects, Silent, Retries int
	Sources                     []Source
	AlreadyComplete             bool
}

// ParallelStep is one change of the number of connections
// (netfox.ParallelStep).
type ParallelStep struct {
	At          time.Duration
	Connections int
	Rate        float64
	Source      int
}

// Source is one address of the file and what it served (netfox.Source).
type Source struct {
	URL            string
	Fetched        int64
	Parallel       int
	ParallelReason string
	Dropped        string
}
