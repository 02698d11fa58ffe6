package daemon

import (
	"context"
	"errors"
	"io"
	"strconv"

	"github.com/netfox/netfox"
)

// aria2's exit codes, which its RPC answers as errorCode (the "EXIT
// STATUS" section of its manual).
const (
	codeFinished         = 0
	codeUnknown          = 1
	codeResourceNotFound = 3
	codeTooSlow          = 5
	codeNetwork          = 6
	codeCannotResume     = 8
	codeDiskFull         = 9
	codeDuplicate        = 11
	codeFileExists       = 13
	codeFileIO           = 17
	codeHTTPProtocol     = 22
	codeHTTPAuth         = 24
	codeBadOption        = 28
	codeUnavailable      = 29
	codeRemoved          = 31
	codeChecksum         = 32
)

// errorCode is the aria2 exit code that means what err says, with the
// message a front end shows.
func errorCode(err error) (code int, message string) {
	var (
		status *netfox.StatusError
		netErr *netfox.NetError
	)
	switch {
	case err == nil:
		return codeFinished, ""
	case errors.Is(err, ErrOption), errors.Is(err, netfox.ErrUsage), errors.Is(err, netfox.ErrMirrorMismatch):
		return codeBadOption, err.Error()
	case errors.Is(err, netfox.ErrChecksum):
		return codeChecksum, err.Error()
	case errors.Is(err, netfox.ErrDiskFull):
		return codeDiskFull, err.Error()
	case errors.Is(err, netfox.ErrExists):
		return codeFileExists, err.Error()
	case errors.Is(err, netfox.ErrBusy):
		return codeDuplicate, err.Error()
	case errors.Is(err, netfox.ErrIO), errors.Is(err, netfox.ErrNotRegular):
		return codeFileIO, err.Error()
	case errors.Is(err, netfox.ErrStalled):
		return codeTooSlow, err.Error()
	case errors.Is(err, netfox.ErrNotPartial), errors.Is(err, netfox.ErrBadState):
		return codeCannotResume, err.Error()
	case errors.Is(err, netfox.ErrBadResponse), errors.Is(err, netfox.ErrRangeNotSupported):
		return codeHTTPProtocol, err.Error()
	case errors.As(err, &status):
		return statusCode(status.Code), err.Error()
	case errors.As(err, &netErr), errors.Is(err, io.ErrUnexpectedEOF):
		return codeNetwork, err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return 2, err.Error()
	}
	return codeUnknown, err.Error()
}

// statusCode maps an HTTP status (or FTP reply code) as aria2 does.
func statusCode(code int) int {
	switch code {
	case 404, 410, 550:
		return codeResourceNotFound
	case 401, 407, 530:
		return codeHTTPAuth
	case 429, 503:
		return codeUnavailable
	}
	return codeHTTPProtocol
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
