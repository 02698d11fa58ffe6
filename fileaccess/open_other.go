//go:build !unix && !windows

package fileaccess

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// openRegular opens path for reading and writing, creating it exclusively
// or else opening the regular file there (a symbolic link is refused,
// checked just before the open where O_NOFOLLOW is missing); created
// tells which.
func openRegular(path string) (f *os.File, created bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		return f, true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, false, err
	}
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, false, fmt.Errorf("%w: %s is a %s", ErrNotRegular, path, fi.Mode().Type())
	}
	f, err = os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, errRaced
	}
	if err != nil {
		return nil, false, err
	}
	return f, false, nil
}
