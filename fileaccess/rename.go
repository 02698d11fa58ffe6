//go:build !windows

package fileaccess

import (
	"errors"
	"io/fs"
	"os"
)

// linkRename renames without replacing by a hard link, which fails when
// newpath exists, and the removal of oldpath. Where the file system has no
// hard links it checks that newpath is free and renames: a small window
// remains in which a file created meanwhile would be replaced.
func linkRename(oldpath, newpath string) error {
	err := os.Link(oldpath, newpath)
	switch {
	case err == nil:
		return os.Remove(oldpath)
	case errors.Is(err, fs.ErrExist):
		return err
	}
	if _, statErr := os.Lstat(newpath); !errors.Is(statErr, fs.ErrNotExist) {
		if statErr == nil {
			return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: fs.ErrExist}
		}
		return statErr
	}
	return os.Rename(oldpath, newpath)
}

// Rename renames oldpath to newpath, replacing a file there. The rename
// is durable once the directory is flushed (state.SyncDir).
func Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
