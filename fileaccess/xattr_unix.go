//go:build linux || darwin

package fileaccess

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// SetXattr sets the extended attribute name of the open file f to value
// (ErrNoXattr where the file system keeps none).
func SetXattr(f *os.File, name, value string) error {
	err := unix.Fsetxattr(int(f.Fd()), name, []byte(value), 0)
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
		return ErrNoXattr
	}
	if err != nil {
		return &os.PathError{Op: "setxattr " + name, Path: f.Name(), Err: err}
	}
	return nil
}

// Xattr reads the extended attribute name of the open file f: "" and
// a nil error when the file has none of that name, ErrNoXattr where the
// file system keeps none.
func Xattr(f *os.File, name string) (string, error) {
	buf := make([]byte, maxXattr)
	n, err := unix.Fgetxattr(int(f.Fd()), name, buf)
	switch {
	case errors.Is(err, noAttr):
		return "", nil
	case errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP):
		return "", ErrNoXattr
	case errors.Is(err, unix.ERANGE):
		return "", fmt.Errorf("%s: extended attribute %s is larger than %d bytes", f.Name(), name, maxXattr)
	case err != nil:
		return "", &os.PathError{Op: "getxattr " + name, Path: f.Name(), Err: err}
	}
	return string(buf[:n]), nil
}
