package fileaccess

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// reserveRange reserves [off, off+n) of f with fallocate, keeping the
// file's size; ok is false where the file system cannot.
func reserveRange(f *os.File, off, n int64) (ok bool, err error) {
	err = unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, off, n)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EINVAL):
		return false, nil
	}
	return false, err
}

// room is File.Room on Linux: a trial ftruncate to size (sparse: no
// block is allocated) and back, then statfs's free space.
func room(f *os.File, size int64) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if have := fi.Size(); size > have {
		err := f.Truncate(size)
		if errors.Is(err, syscall.EFBIG) || errors.Is(err, syscall.EINVAL) {
			return fmt.Errorf("%w: %d bytes (%v)", ErrFileTooLarge, size, err)
		}
		if err != nil {
			return err
		}
		if err := f.Truncate(have); err != nil {
			return err
		}
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return nil // no figure: a full disk shows when a write fails
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	var used int64
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		used = sys.Blocks * 512
	}
	if need := size - used; need > free {
		return fmt.Errorf("%d bytes needed, %d free: %w", need, free, syscall.ENOSPC)
	}
	return nil
}
