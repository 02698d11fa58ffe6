//go:build windows

package fileaccess

import (
	"os"

	"golang.org/x/sys/windows"
)

// RenameNoReplace renames oldpath to newpath unless newpath exists; then it
// fails with an error satisfying errors.Is(err, fs.ErrExist) and changes
// nothing. On Windows it is one MoveFileEx without
// MOVEFILE_REPLACE_EXISTING, which is exactly that, and with
// MOVEFILE_WRITE_THROUGH, so that the rename is on disk when it returns
// (Windows has no directory to flush; see SyncDir in package state).
// oldpath may be open, by handles that share delete (Open's do).
func RenameNoReplace(oldpath, newpath string) error {
	return moveFile(oldpath, newpath, windows.MOVEFILE_WRITE_THROUGH)
}

// Rename renames oldpath to newpath, replacing a file there, on disk when
// it returns (MOVEFILE_WRITE_THROUGH).
func Rename(oldpath, newpath string) error {
	return moveFile(oldpath, newpath, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH)
}

func moveFile(oldpath, newpath string, flags uint32) error {
	from, err := windows.UTF16PtrFromString(oldpath)
	if err == nil {
		var to *uint16
		if to, err = windows.UTF16PtrFromString(newpath); err == nil {
			err = windows.MoveFileEx(from, to, flags)
		}
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}
