package segment

import (
	"context"
	"errors"

	"golang.org/x/sync/errgroup"
)

// Run fetches every segment of table over conns parallel workers (one
// connection each) and returns when all bytes are written or the first
// permanent error stops the rest. A worker whose segment is done takes
// the next idle one, else cuts a piece off the busiest (Table.Take), so
// the workers stay busy to the end.
func Run(ctx context.Context, table *Table, f *Fetcher, conns int) error {
	g, gctx := errgroup.WithContext(ctx)
	for range max(conns, 1) {
		g.Go(func() error {
			for gctx.Err() == nil {
				e := table.Take()
				if e == nil {
					return nil
				}
				err := f.Fetch(gctx, e.Segment)
				table.Release(e)
				if err != nil {
					return err
				}
			}
			return gctx.Err()
		})
	}
	err := g.Wait()
	if err == nil && table.Remaining() > 0 {
		err = errors.New("internal error: workers stopped with bytes remaining")
	}
	return err
}
