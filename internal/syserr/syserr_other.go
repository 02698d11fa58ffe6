//go:build !windows

package syserr

import (
	"errors"
	"syscall"
)

// ConnReset reports whether err is a connection reset by the peer.
func ConnReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

// TooManyFiles reports whether err is the process or the system out of
// file descriptors.
func TooManyFiles(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// NoBuffers reports whether err is the system out of socket buffer space.
func NoBuffers(err error) bool { return errors.Is(err, syscall.ENOBUFS) }
