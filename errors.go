package netfox

import (
	"errors"

	"github.com/netfox/netfox/internal/engine"
	"github.com/netfox/netfox/siteinfo"
)

// Errors returned by Download wrap one of these; the CLI maps each to its
// own exit code.
var (
	// ErrUsage indicates a request that makes no sense: a bad URL, a
	// connection count out of range.
	ErrUsage = engine.ErrUsage

	// ErrEnded indicates a Transfer that has ended (complete, failed or
	// cancelled) asked to pause or resume.
	ErrEnded = errors.New("the transfer has ended")

	// ErrRemoteChanged indicates that the remote file changed while it
	// was being downloaded, and kept changing after a fresh start.
	ErrRemoteChanged = engine.ErrRemoteChanged

	// ErrRangeNotSupported indicates that the server ignores byte ranges.
	// Download handles it itself by falling back to one stream; it
	// surfaces only from lower layers.
	ErrRangeNotSupported = engine.ErrRangeNotSupported

	// ErrBadResponse indicates a server whose answers contradict the
	// request (a wrong Content-Range, a body of the wrong length).
	ErrBadResponse = engine.ErrBadResponse

	// ErrBadState indicates a .info control file that cannot be used: not
	// ours, damaged, from a newer netfox, for another URL, or claiming
	// more than the .part file holds. --restart discards it.
	ErrBadState = engine.ErrBadState

	// ErrLonePart indicates a PATH.part without its PATH.info: partial
	// data that no netfox control file vouches for, maybe another
	// program's. It is left untouched; Restart discards it.
	ErrLonePart = engine.ErrLonePart

	// ErrInsecureRedirect indicates an https address that redirects to
	// http, which Request.AllowInsecureRedirect allows.
	ErrInsecureRedirect = engine.ErrInsecureRedirect

	// ErrExists indicates that the output file already exists and
	// Overwrite was not set.
	ErrExists = engine.ErrExists

	// ErrBusy indicates that another download is writing the same output.
	ErrBusy = engine.ErrBusy

	// ErrNotRegular accompanies ErrIO when a path netfox would write (the
	// .part, the .info) is a symbolic link or another non-regular file:
	// netfox never writes through it.
	ErrNotRegular = engine.ErrNotRegular

	// ErrForeign indicates a .part, .info or output that netfox did not
	// make for the user running it: owned by another user, with other
	// hard links, or (a .part) writable by others. netfox neither uses
	// it nor changes it; --restart does not discard it either.
	ErrForeign = engine.ErrForeign

	// ErrServerNamed accompanies ErrExists when Overwrite would replace
	// a file whose name the server chose (no Output) and that netfox did
	// not download from the same origin: a server does not get to choose
	// which file of the user's is replaced.
	ErrServerNamed = engine.ErrServerNamed

	// ErrProtected accompanies ErrExists when the output path names a
	// file the Request protects (Request.Protected: the list of URLs a
	// batch reads), which is never an output.
	ErrProtected = engine.ErrProtected

	// ErrTooLarge indicates a length the server claims for the file that
	// no file here can have: beyond what the file system can hold, or
	// more than its free space. Nothing is reserved for it.
	ErrTooLarge = engine.ErrTooLarge

	// ErrTooManyRedirects indicates a chain of more than 50 redirects
	// (siteinfo.MaxRedirects, as curl).
	ErrTooManyRedirects = engine.ErrTooManyRedirects

	// ErrRedirectLoop indicates a redirect back to an address of the
	// same chain.
	ErrRedirectLoop = engine.ErrRedirectLoop

	// ErrRedirectScheme indicates a redirect to an address that is not
	// http or https (file:, ftp:, data:).
	ErrRedirectScheme = engine.ErrRedirectScheme

	// ErrMirrorMismatch indicates mirrors that disagree on the file's
	// length: they do not hold the same file.
	ErrMirrorMismatch = engine.ErrMirrorMismatch

	// ErrChecksum indicates that the downloaded bytes do not have the
	// digest the Request asked for. The data is kept as the .part file.
	ErrChecksum = engine.ErrChecksum

	// ErrLinkRefused indicates that the server refused the address (401
	// or 403) after the download had started from it: a signed link past
	// its expiry, a session that ended. The partial download is kept, and
	// a fresh link to the same file resumes it.
	ErrLinkRefused = engine.ErrLinkRefused

	// ErrNotPartial indicates that an existing file Continue was to take
	// over is not the beginning of the remote file: its last bytes differ
	// from the server's, or it is longer than the remote. It is left as
	// it was.
	ErrNotPartial = engine.ErrNotPartial

	// ErrResumable indicates that a download stopped with its progress
	// saved in the .part and .info files: the same Request again resumes
	// it. It accompanies the error that stopped it (context.Canceled, a
	// network error) without changing its message.
	ErrResumable = engine.ErrResumable

	// ErrNotResumable indicates that a download which stopped cannot be
	// resumed: the server sent no length or ignores byte ranges, so the
	// next run starts over. It accompanies the error that stopped it
	// without changing its message.
	ErrNotResumable = engine.ErrNotResumable

	// ErrIO indicates a local file-system failure: a full disk, a
	// read-only directory, an output path that is a directory.
	ErrIO = engine.ErrIO

	// ErrDiskFull accompanies ErrIO when the disk or the user's quota is
	// full (ENOSPC or EDQUOT on Unix, ERROR_DISK_FULL or
	// ERROR_HANDLE_DISK_FULL on Windows); the partial download is kept.
	ErrDiskFull = engine.ErrDiskFull

	// ErrStalled indicates a connection that delivered less than
	// Request.StallSpeed over Request.StallWindow and was cut; it ends a
	// download only after the retries of its range ran out.
	ErrStalled = engine.ErrStalled

	// ErrCannotContinue accompanies ErrExists when Continue was asked but
	// cannot take the existing file over: both PATH and PATH.part exist,
	// or the server does not serve byte ranges (then ErrRangeNotSupported
	// accompanies it too). Nothing is changed.
	ErrCannotContinue = engine.ErrCannotContinue

	// ErrContinuable accompanies ErrExists when the existing output is
	// shorter than the remote file and the server serves ranges: it may
	// be a partial download that Request.Continue can take over.
	ErrContinuable = engine.ErrContinuable
)

// NetError is a failure to talk to the host: DNS, connect, TLS, a
// connection reset or timed out. Find it with errors.As(err, &netErr)
// where netErr is a *NetError.
type NetError struct {
	Host string // the host netfox was talking to
	Err  error  // the cause, as net/http returned it

	src *siteinfo.NetError // the protocol layer's error, for its message
}

func (e *NetError) Error() string {
	if e.src != nil {
		return e.src.Error()
	}
	return (&siteinfo.NetError{Host: e.Host, Err: e.Err}).Error()
}

func (e *NetError) Unwrap() error { return e.Err }

// StatusError is an answer with an unexpected status: an HTTP 404, an
// FTP 550. Find it with errors.As(err, &status) where status is a
// *StatusError.
type StatusError struct {
	Code   int    // the status code, e.g. 404
	Status string // as sent, e.g. "404 Not Found"
	URL    string // the address that answered

	src *siteinfo.StatusError // the protocol layer's error, for its message
}

func (e *StatusError) Error() string {
	if e.src != nil {
		return e.src.Error()
	}
	return (&siteinfo.StatusError{Code: e.Code, Status: e.Status, URL: e.URL}).Error()
}

// public is how an error leaves the library (Download, Stream, an Event):
// a *NetError or *StatusError of the protocol layer inside it is added as
// the root type of the same name, so callers find it with errors.As
// without importing siteinfo. The message does not change.
func public(err error) error {
	var (
		netErr *siteinfo.NetError
		status *siteinfo.StatusError
	)
	if errors.As(err, &netErr) {
		err = engine.Mark(err, &NetError{Host: netErr.Host, Err: netErr.Err, src: netErr})
	}
	if errors.As(err, &status) {
		err = engine.Mark(err, &StatusError{Code: status.Code, Status: status.Status, URL: status.URL, src: status})
	}
	return err
}
