//go:build unix

package fileaccess

import (
	"errors"

	"golang.org/x/sys/unix"
)

// DiskFull reports whether err is a full disk or a quota reached: ENOSPC
// or EDQUOT.
func DiskFull(err error) bool {
	return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT)
}
