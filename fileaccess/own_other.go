//go:build !unix

package fileaccess

import (
	"fmt"
	"os"
)

// openNoFollow opens path read-only. There is no O_NOFOLLOW here: a
// symbolic link (a reparse point on Windows) found by Lstat just before
// is refused, and CheckOwned checks the open file's type. Windows has no
// FIFOs in the file namespace, so the open cannot block on one.
func openNoFollow(path string) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return nil, fmt.Errorf("%w: %s is a symbolic link", ErrNotRegular, path)
	}
	return os.Open(path)
}

// checkOwner checks nothing more here: ownership on Windows is an access
// list, not a user id that can be compared with the running one, and
// os.FileInfo carries no link count; the type check of CheckOwned and the
// user's profile directories' own access lists are what protects.
func checkOwner(os.FileInfo, Use) string { return "" }
