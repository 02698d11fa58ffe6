//go:build unix

package fileaccess

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// lock takes an exclusive, non-blocking flock on f; ErrLocked when
// another open file holds it. The kernel drops it when f is closed or its
// process dies.
func lock(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return ErrLocked
	}
	return err
}
