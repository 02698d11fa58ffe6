package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/netfox/netfox/fileaccess"
	"github.com/netfox/netfox/siteinfo"
)

// A finished download records where it came from in the file itself, so
// that running the same command again can tell "already here" from
// "someone else's file" without any file beside it:
//   - the address asked for, without its password, in the freedesktop
//     extended attribute user.xdg.origin.url (as wget --xattr and curl
//     --xattr write it), and the ETag in user.netfox.etag, where the file
//     system keeps extended attributes;
//   - its modification time, set to the server's Last-Modified (as wget
//     -N does; os.Chtimes works everywhere).
//
// A later run holds the file to be the remote's current version only
// when that record says so (finished): the same length, and a strong
// ETag equal to the server's, or the same origin and Last-Modified; or,
// with a Request.Checksum, the file's digest. Length and dates alone,
// which another file may share, prove nothing. Where the file system
// keeps no extended attributes nothing is recorded, and only a checksum
// proves such a file: without one it is reported as existing
// (ErrExists), the safe side.

// The extended attributes of a finished file.
const (
	originAttr = "user.xdg.origin.url"
	etagAttr   = "user.netfox.etag"
)

// record is what a file at the output path says of itself.
type record struct {
	size     int64
	modified time.Time
	// origin and etag are the extended attributes, "" when absent.
	origin, etag string
	// noXattr reports a file system that keeps no extended attributes:
	// nothing could have been recorded.
	noXattr bool
}

// readRecord reads the record of the file at path, opened as a file of
// the user's (fileaccess.OpenOwned): a file of another user, with other
// hard links, or not regular, is nobody's record (ErrForeign,
// ErrNotRegular).
func readRecord(path string) (record, error) {
	f, err := fileaccess.OpenOwned(path, fileaccess.UseOwn)
	if err != nil {
		return record{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return record{}, err
	}
	rec := record{size: fi.Size(), modified: fi.ModTime()}
	rec.origin, err = fileaccess.Xattr(f, originAttr)
	if errors.Is(err, fileaccess.ErrNoXattr) {
		rec.noXattr = true
		return rec, nil
	}
	rec.etag, _ = fileaccess.Xattr(f, etagAttr)
	return rec, nil
}

// finishedVerdict is what the record of a file at the output path shows,
// next to the remote's answer.
type finishedVerdict int

const (
	// finishedUnknown: nothing shows what the file is.
	finishedUnknown finishedVerdict = iota
	// finishedSame: it is the remote's current version.
	finishedSame
	// finishedChanged: the remote's length or validators differ.
	finishedChanged
	// finishedElsewhere: netfox downloaded it from another address, and
	// no strong ETag says it is the same file.
	finishedElsewhere
)

// finished decides what the file recorded in rec is: the remote's
// version info describes when its length is the remote's and a strong
// ETag that both carry is equal (RFC 9110 8.8.3: the same bytes,
// wherever they came from), or when it came from one of addresses (the
// address asked for now, and where it redirected) and the Last-Modified
// both carry is equal. A validator both carry that differs is a change;
// one that only one side carries proves nothing (siteinfo.CompareVersions).
func finished(rec record, info siteinfo.Info, addresses []string) finishedVerdict {
	if info.Length < 0 || rec.size != info.Length {
		return finishedChanged
	}
	was := siteinfo.Info{Length: rec.size, ETag: rec.etag}
	if !rec.modified.IsZero() {
		was.LastModified = rec.modified.UTC().Format(http.TimeFormat)
	}
	v := siteinfo.CompareVersions(was, info)
	fromHere := rec.origin != "" && slices.Contains(addresses, rec.origin)
	switch {
	case v == siteinfo.VersionChanged:
		return finishedChanged
	case v == siteinfo.VersionSameETag:
		return finishedSame
	case v == siteinfo.VersionSameLastModified && fromHere:
		return finishedSame
	case rec.origin != "" && !fromHere:
		return finishedElsewhere
	}
	return finishedUnknown
}

// addresses are the addresses a record's origin is compared with: the
// one asked for and the one it led to, without passwords, as recorded.
func (d *Downloader) addresses(info siteinfo.Info) []string {
	a := []string{siteinfo.RedactURL(d.req.URL)}
	if info.URL != "" {
		a = append(a, siteinfo.RedactURL(info.URL))
	}
	return a
}

// sameOrigin reports whether the recorded address rec came from the
// origin (scheme, host, port) of one of addresses.
func sameOrigin(recorded string, addresses []string) bool {
	r, err := url.Parse(recorded)
	if err != nil || siteinfo.Origin(r) == "" {
		return false
	}
	for _, a := range addresses {
		if u, err := url.Parse(a); err == nil && siteinfo.Origin(u) == siteinfo.Origin(r) {
			return true
		}
	}
	return false
}

// checkExisting decides about a regular file at the output path out
// (fi, from Lstat): whether it is the remote's current version (complete:
// nothing to do), may be replaced (Overwrite), or is refused. A file the
// Request protects (the list being read) is never an output.
func (d *Downloader) checkExisting(out string, fi os.FileInfo, info siteinfo.Info) (complete bool, err error) {
	for _, p := range d.req.Protected {
		if pi, err := os.Stat(p); err == nil && os.SameFile(pi, fi) {
			return false, fmt.Errorf("%w: %s is %s, being read: %w", ErrExists, out, p, ErrProtected)
		}
	}
	rec, recErr := readRecord(out)
	if d.req.Overwrite {
		return false, d.mayOverwrite(out, rec, recErr, info)
	}
	if recErr == nil && d.req.Checksum != nil && rec.size == info.Length {
		if d.req.Checksum.verify(out) == nil {
			return true, nil
		}
	} else if recErr == nil && finished(rec, info, d.addresses(info)) == finishedSame {
		return true, nil
	}
	why := ""
	switch {
	case errors.Is(recErr, fileaccess.ErrForeign):
		why = fmt.Sprintf(" (%v)", recErr)
	case recErr == nil && rec.noXattr && d.req.Checksum == nil && rec.size == info.Length:
		why = " (its file system keeps no record of where a file came from, so nothing shows it is this download)"
	}
	if continuable(fi.Size(), info) && !d.req.Continue {
		return false, fmt.Errorf("%w: %s%s, %w", ErrExists, out, why, ErrContinuable)
	}
	return false, fmt.Errorf("%w: %s%s", ErrExists, out, why)
}

// mayOverwrite says whether Overwrite may replace the file at out: one
// the user named (Request.Output) always; one whose name the server chose
// only when netfox downloaded it from the same origin, by its record,
// as curl -OJ refuses to replace any file: a server must not choose which
// of the user's files to replace.
func (d *Downloader) mayOverwrite(out string, rec record, recErr error, info siteinfo.Info) error {
	if d.req.Output != "" {
		return nil
	}
	if recErr == nil && rec.origin != "" && sameOrigin(rec.origin, d.addresses(info)) {
		return nil
	}
	why := "netfox did not download it from " + siteinfo.RedactURL(d.req.URL)
	switch {
	case recErr != nil && !errors.Is(recErr, fs.ErrNotExist):
		why = recErr.Error()
	case rec.noXattr:
		why = "its file system keeps no record of where a file came from"
	}
	return fmt.Errorf("%w: %s, whose name the server chose (%s): %w", ErrExists, out, why, ErrServerNamed)
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

// recordOrigin writes the origin record into the finished .part before
// it gets its name. A file system without extended attributes records
// nothing, silently: the record is then missing, and a re-run reports
// the file as existing rather than complete.
func (d *Downloader) recordOrigin(part *fileaccess.File, info siteinfo.Info) {
	err := part.SetXattr(originAttr, siteinfo.RedactURL(d.req.URL))
	if err == nil && info.ETag != "" {
		err = part.SetXattr(etagAttr, info.ETag)
	}
	if err != nil && !errors.Is(err, fileaccess.ErrNoXattr) {
		d.notify(EventOriginFailed, "cannot record where %s came from: %v", part.Name(), err)
	}
}

// stampVersion sets the finished file's mtime to the remote's
// Last-Modified, part of the record finished reads. Failing to is not
// fatal: a re-run then reports the file as existing, as it did before.
func (d *Downloader) stampVersion(out string, info siteinfo.Info) {
	t, ok := lastModified(info)
	if !ok {
		return
	}
	if err := os.Chtimes(out, t, t); err != nil {
		d.notify(EventMtimeFailed, "cannot set the modification time of %s: %v", out, err)
	}
}
