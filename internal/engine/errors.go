package engine

import (
	"errors"

	"github.com/netfox/netfox/fileaccess"
	"github.com/netfox/netfox/segment"
	"github.com/netfox/netfox/siteinfo"
)

// The sentinel errors, each documented where the API names it (netfox's
// errors.go). Those of the layers below are theirs, named here once.
var (
	ErrUsage             = errors.New("invalid request")
	ErrRemoteChanged     = siteinfo.ErrRemoteChanged
	ErrRangeNotSupported = siteinfo.ErrRangeNotSupported
	ErrBadResponse       = siteinfo.ErrBadResponse
	ErrBadState          = errors.New("unusable control file")
	ErrLonePart          = errors.New("partial file without a control file")
	ErrInsecureRedirect  = siteinfo.ErrInsecureRedirect
	ErrExists            = errors.New("output file already exists")
	ErrBusy              = fileaccess.ErrLocked
	ErrNotRegular        = fileaccess.ErrNotRegular
	ErrForeign           = fileaccess.ErrForeign
	ErrServerNamed       = errors.New("its name was chosen by the server")
	ErrProtected         = errors.New("it is never an output")
	ErrTooLarge          = errors.New("the file is too large")
	ErrTooManyRedirects  = siteinfo.ErrTooManyRedirects
	ErrRedirectLoop      = siteinfo.ErrRedirectLoop
	ErrRedirectScheme    = siteinfo.ErrRedirectScheme
	ErrMirrorMismatch    = errors.New("mirrors disagree")
	ErrChecksum          = errors.New("checksum mismatch")
	ErrLinkRefused       = errors.New("the server refused the link")
	ErrNotPartial        = errors.New("existing file is not a partial download of this file")
	ErrResumable         = errors.New("progress is saved")
	ErrNotResumable      = errors.New("the server cannot resume a download, the next run starts over")
	ErrIO                = errors.New("local I/O error")
	ErrDiskFull          = errors.New("disk full")
	ErrStalled           = segment.ErrStalled
	ErrCannotContinue    = errors.New("it cannot be continued")
	ErrContinuable       = errors.New("shorter than the remote file, perhaps a partial download of it")
)

// Mark adds mark to err, for errors.Is, without changing its message.
func Mark(err, mark error) error { return markedError{err, mark} }

type markedError struct{ err, mark error }

func (m markedError) Error() string   { return m.err.Error() }
func (m markedError) Unwrap() []error { return []error{m.err, m.mark} }
