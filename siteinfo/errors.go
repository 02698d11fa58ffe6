package siteinfo

import "errors"

// ErrBadURL indicates a URL that cannot be fetched: malformed, without a
// host, or with a scheme netfox does not speak.
var ErrBadURL = errors.New("bad URL")

// ErrRemoteChanged indicates that the remote file is not the version the
// download started with: its validators or length differ, or it answered
// an If-Range request with the whole new file.
var ErrRemoteChanged = errors.New("remote file changed")

// ErrRangeNotSupported indicates that the server ignores Range requests
// for this file: it answered a ranged request with the whole file of the
// same version.
var ErrRangeNotSupported = errors.New("server does not support byte ranges")

// ErrBadResponse indicates an answer that contradicts the request: a
// Content-Range other than the range asked for, a Content-Length that
// disagrees with it, or a compressed body. Nothing of such a body is
// written.
var ErrBadResponse = errors.New("server sent a response that does not match the request")
