//go:build windows

package fileaccess

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// openRegular opens path for reading and writing, creating it exclusively
// or else opening the regular file there; created tells which.
//
// Windows differs from Unix in three ways that matter here, and the open
// is made with CreateFile directly to meet them:
//   - A file can be renamed or removed while it is open only if every
//     handle to it shares FILE_SHARE_DELETE, which os.OpenFile does not
//     ask for. The download renames the .part to its final name while it
//     still holds it open and locked (finish), as on Unix, so that no
//     other run can take the lock in between; and a .part it created and
//     then finds it does not need is removed before it is closed.
//   - A symbolic link (a reparse point) is opened itself, not followed
//     (FILE_FLAG_OPEN_REPARSE_POINT), and refused, as O_NOFOLLOW does on
//     Unix.
//   - Names such as NUL or CON open a device, not a file: anything that is
//     not a disk file is refused (GetFileType).
func openRegular(path string) (f *os.File, created bool, err error) {
	f, err = createFile(path, windows.CREATE_NEW)
	if err == nil {
		if err = checkRegular(f, path); err != nil {
			f.Close()
			return nil, false, err
		}
		return f, true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, false, err
	}
	f, err = createFile(path, windows.OPEN_EXISTING)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, errRaced
	}
	if err != nil {
		return nil, false, err
	}
	if err = checkRegular(f, path); err != nil {
		f.Close()
		return nil, false, err
	}
	return f, false, nil
}

// createFile opens path for reading and writing with the given creation
// disposition, sharing read, write and delete with other handles: the
// lock (LockFileEx), not the share mode, is what keeps a second download
// out.
func createFile(path string, disposition uint32) (*os.File, error) {
	name, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(name,
		windows.GENERIC_READ|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, disposition,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

// checkRegular refuses an open handle that is not a plain disk file: a
// device, a directory or a reparse point (a symbolic link or junction).
func checkRegular(f *os.File, path string) error {
	h := windows.Handle(f.Fd())
	kind, err := windows.GetFileType(h)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	if kind != windows.FILE_TYPE_DISK {
		return fmt.Errorf("%w: %s is a device", ErrNotRegular, path)
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	switch {
	case info.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0:
		return fmt.Errorf("%w: %s is a symbolic link", ErrNotRegular, path)
	case info.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0:
		return fmt.Errorf("%w: %s is a directory", ErrNotRegular, path)
	}
	return nil
}
