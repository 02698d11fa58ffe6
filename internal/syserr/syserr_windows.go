//go:build windows

package syserr

import (
	"errors"

	"golang.org/x/sys/windows"
)

// ConnReset reports whether err is a connection reset by the peer.
func ConnReset(err error) bool { return errors.Is(err, windows.WSAECONNRESET) }

// TooManyFiles reports whether err is the process or the system out of
// file handles or sockets.
func TooManyFiles(err error) bool {
	return errors.Is(err, windows.WSAEMFILE) || errors.Is(err, windows.ERROR_TOO_MANY_OPEN_FILES)
}

// NoBuffers reports whether err is the system out of socket buffer space.
func NoBuffers(err error) bool { return errors.Is(err, windows.WSAENOBUFS) }
