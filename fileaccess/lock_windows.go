//go:build windows

package fileaccess

import (
	"errors"
	"math"
	"os"

	"golang.org/x/sys/windows"
)

// lock takes an exclusive lock on the whole of f without waiting;
// ErrLocked when another handle holds it. Windows drops it when the
// handle is closed or its process dies. Unlike flock on Unix, the lock is
// mandatory: other programs cannot write the locked bytes either.
func lock(f *os.File) error {
	ol := new(windows.Overlapped)
	err := windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY,
		0, math.MaxUint32, math.MaxUint32, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return ErrLocked
	}
	return err
}
