package netfox

import (
	"context"

	"github.com/netfox/netfox/internal/engine"
	"github.com/netfox/netfox/segment"
)

// FileInfo is what the server says about a file before any of it is
// downloaded.
type FileInfo struct {
	// URL is the address after redirects.
	URL string
	// Length is the file's size in bytes, -1 when the server did not say.
	Length int64
	// Ranges reports whether the server serves byte ranges of it, so that
	// a download can go over several connections and be resumed.
	Ranges bool
	// ETag and LastModified are the validators as sent (escape them
	// before printing: they are the server's text).
	ETag, LastModified string
	// Filename is the safe base name a download without Output would use.
	Filename string
}

// Stat asks the remote about req.URL the way a download's first request
// does (same transport, headers, credentials, redirect policy and
// retries) and returns what it said, without downloading the file.
func (c *Client) Stat(ctx context.Context, req Request) (FileInfo, error) {
	req, err := req.Normalized()
	if err != nil {
		return FileInfo{}, err
	}
	info, err := engine.New(c.env(req, segment.NewLimit(req.LimitRate)), req.job(nil)).Stat(ctx)
	if err != nil {
		return FileInfo{}, public(err)
	}
	return FileInfo{URL: info.URL, Length: info.Length, Ranges: info.Ranges, ETag: info.ETag, LastModified: info.LastModified, Filename: info.Filename}, nil
}
