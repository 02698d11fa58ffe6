// Package fileaccess is the positional writer behind a download: one
// *os.File that every segment writes into at its own offsets, preallocated
// to the final size, flushed on demand, and locked so that only one
// process downloads into it at a time.
package fileaccess

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrLocked indicates that another process holds the lock on the file,
// that is, another netfox is downloading into the same output.
var ErrLocked = errors.New("file is locked by another download")

// File is an output file open for positional writes. Its methods are safe
// for concurrent use; WriteAt calls at disjoint offsets do not interfere.
type File struct {
	f *os.File
}

// Open opens (creating if needed) the file at path for writing and takes
// an exclusive, non-blocking advisory lock on it. The lock lives as long
// as the open file, so a killed process releases it at once.
func Open(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, &os.PathError{Op: "lock", Path: path, Err: err}
	}
	return &File{f: f}, nil
}

// Name is the file's path.
func (w *File) Name() string { return w.f.Name() }

// Size is the file's current size.
func (w *File) Size() (int64, error) {
	fi, err := w.f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Preallocate reserves size bytes on disk so that a full disk shows at the
// start rather than midway, and the file is not fragmented by segments
// growing it from many offsets at once. Where the file system cannot
// allocate (tmpfs before Linux 3.5, some network file systems), the file is
// only extended, which still gives WriteAt a file of the final size.
func (w *File) Preallocate(size int64) error {
	if size <= 0 {
		return nil
	}
	err := unix.Fallocate(int(w.f.Fd()), 0, 0, size)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EINVAL):
		return w.f.Truncate(size)
	default:
		return &os.PathError{Op: "fallocate", Path: w.f.Name(), Err: err}
	}
}

// WriteAt writes p at offset off.
func (w *File) WriteAt(p []byte, off int64) (int, error) { return w.f.WriteAt(p, off) }

// Truncate sets the file's size.
func (w *File) Truncate(size int64) error { return w.f.Truncate(size) }

// Sync flushes the file's data to stable storage (fdatasync: the data and
// the metadata needed to read it back, not the timestamps).
func (w *File) Sync() error {
	if err := unix.Fdatasync(int(w.f.Fd())); err != nil {
		return &os.PathError{Op: "fdatasync", Path: w.f.Name(), Err: err}
	}
	return nil
}

// StartWriteback asks the kernel to start writing the file's dirty pages
// to disk now, without waiting for it. Called as a download goes, it
// spreads the disk writes over the transfer, so that the flush (Sync)
// before the file is handed over has little left to wait for. It is only
// a hint: where unsupported it does nothing.
func (w *File) StartWriteback() {
	unix.SyncFileRange(int(w.f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
}

// Close releases the lock and closes the file. Its error matters: some
// file systems report a failed write only here.
func (w *File) Close() error { return w.f.Close() }
