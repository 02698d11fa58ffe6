//go:build windows

package fileaccess

import (
	"errors"
	"math"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// lockLinger is how long lock keeps trying while another handle holds
// the lock. Windows releases the locks of a process that died, but not
// at once: "the time it takes for the operating system to unlock these
// locks depends upon available system resources" (LockFileEx's
// documentation). A resume right after a crash must not be told the file
// is busy for that reason; a download that is really running holds the
// lock far longer than this.
const lockLinger = 2 * time.Second

// lockPoll is the wait between two tries within lockLinger.
const lockPoll = 50 * time.Millisecond

// lock takes an exclusive lock on the whole of f without blocking in the
// kernel; ErrLocked when another handle still holds it after lockLinger.
// Windows drops it when the handle is closed or its process dies. Unlike
// flock on Unix, the lock is mandatory: other handles, in this process
// too, can neither read nor write the locked bytes, so everything netfox
// reads back from a locked file goes through its File (ReadAt).
func lock(f *os.File) error {
	deadline := time.Now().Add(lockLinger)
	for {
		err := tryLock(f)
		if !errors.Is(err, ErrLocked) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(lockPoll)
	}
}

// tryLock is one LockFileEx that fails at once when the lock is held.
func tryLock(f *os.File) error {
	ol := new(windows.Overlapped)
	err := windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY,
		0, math.MaxUint32, math.MaxUint32, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return ErrLocked
	}
	return err
}
