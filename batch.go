package netfox

import (
	"context"
	"fmt"

	"github.com/netfox/netfox/internal/engine"
	"golang.org/x/sync/errgroup"
)

// BatchOptions configure DownloadAll.
type BatchOptions struct {
	// Parallel is the number of files downloaded at once; zero means 4.
	Parallel int
	// OnStart, when set, is called once per request as its download
	// begins, with the request's index and a copy of it that it may
	// change (OnProgress, OnEvent), from the goroutine that runs it.
	OnStart func(i int, req *Request)
	// OnDone, when set, is called once per request as its download
	// ends, from the goroutine that ran it.
	OnDone func(i int, res Result, err error)
}

// BatchResult is the outcome of one request of a batch.
type BatchResult struct {
	Result Result
	// Err is nil for a file saved.
	Err error
}

// DownloadAll downloads reqs, opts.Parallel at a time, and returns one
// result per request, in the order of reqs. A failed file does not stop
// the others. A file that failed for want of a local resource (too many
// open files, a full disk) is tried once more after the others, alone,
// when the pressure they made is gone; its partial download resumes.
// Requests not started when ctx ends fail with an error wrapping
// ctx.Err().
func (c *Client) DownloadAll(ctx context.Context, reqs []Request, opts BatchOptions) []BatchResult {
	results := make([]BatchResult, len(reqs))
	prepared := make([]Request, len(reqs))
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = 4
	}
	done := func(i int) {
		if opts.OnDone != nil {
			opts.OnDone(i, results[i].Result, results[i].Err)
		}
	}
	var g errgroup.Group
	g.SetLimit(parallel)
	for i := range reqs {
		if ctx.Err() != nil {
			results[i].Err = fmt.Errorf("%w: not started", ctx.Err())
			done(i)
			continue
		}
		g.Go(func() error {
			prepared[i] = reqs[i]
			if opts.OnStart != nil {
				opts.OnStart(i, &prepared[i])
			}
			res, err := c.Download(ctx, prepared[i])
			results[i] = BatchResult{Result: res, Err: err}
			if !engine.LocalPressure(err) {
				done(i)
			}
			return nil
		})
	}
	g.Wait()
	for i := range reqs {
		if !engine.LocalPressure(results[i].Err) {
			continue
		}
		if ctx.Err() == nil {
			res, err := c.Download(ctx, prepared[i])
			results[i] = BatchResult{Result: res, Err: err}
		}
		done(i)
	}
	return results
}
