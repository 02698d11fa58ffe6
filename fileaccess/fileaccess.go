// Package fileaccess is the positional writer behind a download: one
// *os.File that every segment writes into at its own offsets, preallocated
// to the final size, flushed on demand, and locked so that only one
// process downloads into it at a time.
//
// What differs between systems lives in one file per system and is said
// there: how a file is opened (O_NOFOLLOW on Unix; CreateFile sharing
// delete and not following reparse points on Windows, so that an open
// file can be renamed), the lock (flock on Unix, LockFileEx on Windows,
// where it is mandatory and may linger briefly after a crash), the rename
// that never replaces (renameat2 on Linux, MoveFileEx on Windows, a link
// and an unlink elsewhere), preallocation (fallocate on Linux, a sparse
// file on Windows; elsewhere the file is only extended), the flush
// (fdatasync on Linux; elsewhere os.File.Sync, which is F_FULLFSYNC on
// macOS and FlushFileBuffers on Windows), the early writeback hint
// (sync_file_range on Linux; nothing elsewhere) and what a full disk is
// called (DiskFull).
//
// It is part of netfox's engine, not its stable API (package netfox):
// its exported names may change between versions.
package fileaccess

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// ErrLocked indicates that another process holds the lock on the file,
// that is, another netfox is downloading into the same output.
var ErrLocked = errors.New("file is locked by another download")

// ErrNotRegular indicates a path that names something other than a
// regular file, such as a symbolic link: netfox does not write through
// one, it might point at any file of the user's.
var ErrNotRegular = errors.New("not a regular file")

// ErrMoved indicates a file that kept being renamed or replaced while it
// was being opened and locked.
var ErrMoved = errors.New("file keeps changing under its name")

// errRaced tells Open that the file was removed between openRegular's
// exclusive create and its open of the existing file.
var errRaced = errors.New("removed while being opened")

// File is an output file open for positional writes. Its methods are safe
// for concurrent use; WriteAt calls at disjoint offsets do not interfere.
type File struct {
	f       *os.File
	created bool

	closeOnce sync.Once
	closeErr  error

	// mu guards the reservation of ReserveAsWritten: limit (0: none) and
	// the chunks reserved.
	mu       sync.Mutex
	limit    int64
	reserved map[int64]bool
}

// openTries bounds how often Open starts again when the path stopped
// naming the file it locked.
const openTries = 3

// Open opens (creating if needed) the file at path for writing and takes
// an exclusive, non-blocking advisory lock on it. The lock lives as long
// as the open file, so a killed process releases it at once.
//
// A symbolic link or other non-regular file at path is refused
// (ErrNotRegular), never followed; so is a file that another user owns,
// that has other hard links or that others may write (ErrForeign): its
// bytes would become the output. After taking the lock Open checks that
// path still names the file it locked: another process may have renamed
// it (a download that finished) or replaced it between the open and the
// lock; then it starts again.
func Open(path string) (*File, error) { return open(path, nil) }

// open is Open with a hook run between the open and the lock, for tests.
func open(path string, beforeLock func()) (*File, error) {
	for try := 0; try < openTries; try++ {
		f, created, err := openRegular(path)
		if errors.Is(err, errRaced) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !created {
			// A file that was there: only one netfox made (see Use).
			if err := CheckOwned(f, UsePrivate); err != nil {
				f.Close()
				return nil, err
			}
		}
		if beforeLock != nil {
			beforeLock()
		}
		if err := lock(f); err != nil {
			f.Close()
			if errors.Is(err, ErrLocked) {
				return nil, fmt.Errorf("%w: %s", ErrLocked, path)
			}
			return nil, &os.PathError{Op: "lock", Path: path, Err: err}
		}
		same, err := names(path, f)
		if err != nil {
			f.Close()
			return nil, err
		}
		if same {
			return &File{f: f, created: created}, nil
		}
		f.Close()
	}
	return nil, fmt.Errorf("%w: %s", ErrMoved, path)
}

// names reports whether path names the open file f (fstat against lstat).
func names(path string, f *os.File) (bool, error) {
	open, err := f.Stat()
	if err != nil {
		return false, err
	}
	now, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(open, now), nil
}

// Created reports whether Open created the file, as opposed to opening
// one that was there.
func (w *File) Created() bool { return w.created }

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
	return preallocate(w.f, size)
}

// ReadAt reads len(p) bytes at offset off. Reading back a file being
// downloaded (to verify it) goes through here, not through a second open
// of its path: on Windows the lock keeps every other handle, in this
// process too, from reading the locked bytes.
func (w *File) ReadAt(p []byte, off int64) (int, error) { return w.f.ReadAt(p, off) }

// WriteAt writes p at offset off, first reserving its disk when
// ReserveAsWritten asked for it.
func (w *File) WriteAt(p []byte, off int64) (int, error) {
	if err := w.reserve(off, len(p)); err != nil {
		return 0, err
	}
	return w.f.WriteAt(p, off)
}

// Truncate sets the file's size.
func (w *File) Truncate(size int64) error { return w.f.Truncate(size) }

// Sync flushes the file's data to stable storage: the data and the
// metadata needed to read it back, not necessarily the timestamps.
func (w *File) Sync() error {
	if err := datasync(w.f); err != nil {
		return &os.PathError{Op: "sync", Path: w.f.Name(), Err: err}
	}
	return nil
}

// StartWriteback asks the kernel to start writing the file's dirty pages
// to disk now, without waiting for it. Called as a download goes, it
// spreads the disk writes over the transfer, so that the flush (Sync)
// before the file is handed over has little left to wait for. It is only
// a hint: where unsupported it does nothing.
func (w *File) StartWriteback() { startWriteback(w.f) }

// Close releases the lock and closes the file. Its error matters: some
// file systems report a failed write only here. Closing again does
// nothing and returns the first Close's error, so that a caller may both
// close the file where the download ends and defer a Close for its
// early returns.
func (w *File) Close() error {
	w.closeOnce.Do(func() { w.closeErr = w.f.Close() })
	return w.closeErr
}
