//go:build windows

package fileaccess

import (
	"errors"

	"golang.org/x/sys/windows"
)

// DiskFull reports whether err is a full disk or a quota reached:
// ERROR_DISK_FULL or ERROR_HANDLE_DISK_FULL.
func DiskFull(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL)
}
