//go:build unix

package fileaccess

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// openNoFollow opens path read-only with O_NOFOLLOW (a symbolic link
// fails with ELOOP, reported as ErrNotRegular) and O_NONBLOCK (a FIFO
// with no writer opens at once instead of waiting for one, so the type
// check that follows can refuse it, and a signal is never held up by an
// open).
func openNoFollow(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%w: %s is a symbolic link", ErrNotRegular, path)
	}
	return f, err
}

// checkOwner says why a regular file is not one netfox made for the
// user running it, "" when it is: owned by the effective user, one hard
// link, and for UsePrivate no write permission for group or others.
func checkOwner(fi os.FileInfo, use Use) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	switch euid := os.Geteuid(); {
	case int64(st.Uid) != int64(euid):
		return fmt.Sprintf("belongs to user %d, not to the user running netfox (%d)", st.Uid, euid)
	case uint64(st.Nlink) != 1:
		return fmt.Sprintf("has %d hard links", st.Nlink)
	case use == UsePrivate && fi.Mode().Perm()&0o022 != 0:
		return fmt.Sprintf("is writable by other users (mode %#o)", fi.Mode().Perm())
	}
	return ""
}
