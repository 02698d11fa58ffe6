package fileaccess

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// preallocate reserves size bytes with fallocate; where the file system
// cannot (tmpfs before Linux 3.5, some network file systems) it only
// extends the file.
func preallocate(f *os.File, size int64) error {
	err := unix.Fallocate(int(f.Fd()), 0, 0, size)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EINVAL):
		return f.Truncate(size)
	default:
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
	}
}

// datasync is fdatasync: the data and the metadata needed to read it
// back, not the timestamps.
func datasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }

// startWriteback starts writing f's dirty pages without waiting.
func startWriteback(f *os.File) {
	unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
}
