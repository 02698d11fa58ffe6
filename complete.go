package netfox

import (
	"net/http"
	"os"
	"time"

	"github.com/netfox/netfox/siteinfo"
)

// A finished download records the version of the remote it holds in the
// file itself, so that running the same command again can tell "already
// here" from "someone else's file" without any file beside it: its
// modification time is set to the server's Last-Modified (as wget -N
// does; os.Chtimes works on every system, unlike extended attributes).
// A later run holds the remote to be the same version when the lengths
// are equal and Last-Modified equals the file's mtime to the second, or,
// when the Request has a Checksum, when the file has that digest. A
// server that sends no Last-Modified (an ETag alone) cannot be matched
// this way: the file is then left alone and ErrExists reported, as
// before.

// alreadyComplete reports whether the file at out is provably the remote
// version info describes.
func (d *downloader) alreadyComplete(out string, fi os.FileInfo, info siteinfo.Info) bool {
	if !fi.Mode().IsRegular() || info.Length < 0 || fi.Size() != info.Length {
		return false
	}
	if d.req.Checksum != nil {
		return d.req.Checksum.verify(out) == nil
	}
	modified, ok := lastModified(info)
	return ok && fi.ModTime().Truncate(time.Second).Equal(modified)
}

// lastModified is the remote's Last-Modified as a time, when it sent one
// that parses.
func lastModified(info siteinfo.Info) (time.Time, bool) {
	if info.LastModified == "" {
		return time.Time{}, false
	}
	t, err := http.ParseTime(info.LastModified)
	return t, err == nil
}

// stampVersion sets the finished file's mtime to the remote's
// Last-Modified, the record alreadyComplete reads. Failing to is not
// fatal: a re-run then reports the file as existing, as it did before.
func (d *downloader) stampVersion(out string, info siteinfo.Info) {
	t, ok := lastModified(info)
	if !ok {
		return
	}
	if err := os.Chtimes(out, t, t); err != nil {
		d.notify(NoticeMtimeFailed, "cannot set the modification time of %s: %v", out, err)
	}
}
