package netfox

import (
	"context"
	"io"

	"github.com/netfox/netfox/internal/engine"
	"github.com/netfox/netfox/segment"
)

// StreamPath is Result.Path of a Stream.
const StreamPath = engine.StreamPath

// Stream fetches req.URL and writes it to w in order, over
// req.Connections connections that fetch ahead of the writing within a
// window of window bytes (DefaultStreamWindow when 0), whatever the
// size of the file. The window is fetched in two halves: one is written
// while the next is fetched. Nothing goes to disk, so a stream cannot
// resume: an interrupted stream starts over. req.Output, Restart and
// Overwrite are not used; req.Checksum is checked on the bytes written,
// after the last one.
func Stream(ctx context.Context, req Request, w io.Writer, window int64) (Result, error) {
	c, req, err := ownClient(req)
	if err != nil {
		return Result{}, err
	}
	defer c.Close()
	return c.stream(ctx, req, w, window)
}

// Stream is the package's Stream run by c: its connections count against
// c's per-host budget and its rate against c's limit, alongside c's
// downloads. req.OnProgress is called as for a download, with
// Snapshot.Path set to StreamPath.
func (c *Client) Stream(ctx context.Context, req Request, w io.Writer, window int64) (Result, error) {
	if err := clientRequest(req); err != nil {
		return Result{}, err
	}
	return c.stream(ctx, req, w, window)
}

func (c *Client) stream(ctx context.Context, req Request, w io.Writer, window int64) (Result, error) {
	req, err := req.Normalized()
	if err != nil {
		return Result{}, err
	}
	if window <= 0 {
		window = DefaultStreamWindow
	}
	progress := new(engine.Progress)
	d := engine.New(c.env(req, segment.NewLimit(req.LimitRate)), req.job(progress))
	stop := reportProgress(req, progress)
	res, err := d.Stream(ctx, w, window)
	stop()
	return resultOf(res), endError(ctx, err)
}
