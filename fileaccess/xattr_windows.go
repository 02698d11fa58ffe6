//go:build windows

package fileaccess

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/windows"
)

// On Windows a file's extended attributes are kept where Windows keeps
// such records, as browsers keep the Mark of the Web (Zone.Identifier):
// in an alternate data stream of the file, one per attribute, named
// after it ("f.iso:user.xdg.origin.url"). The streams go with the file
// when it is renamed on its volume, as the attributes do on Unix; a
// file system without streams (FAT) gives ErrNoXattr.

// SetXattr sets the extended attribute name of the open file f to value
// (ErrNoXattr where the file system keeps none).
func SetXattr(f *os.File, name, value string) error {
	s, err := openStream(f, name, windows.GENERIC_WRITE, windows.CREATE_ALWAYS)
	if err != nil {
		return streamError("setxattr", f, name, err)
	}
	_, err = s.WriteString(value)
	if closeErr := s.Close(); err == nil {
		err = closeErr
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
	s, err := openStream(f, name, windows.GENERIC_READ, windows.OPEN_EXISTING)
	if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		return "", nil
	}
	if err != nil {
		return "", streamError("getxattr", f, name, err)
	}
	defer s.Close()
	value, err := io.ReadAll(io.LimitReader(s, maxXattr+1))
	if err != nil {
		return "", &os.PathError{Op: "getxattr " + name, Path: f.Name(), Err: err}
	}
	if len(value) > maxXattr {
		return "", fmt.Errorf("%s: extended attribute %s is larger than %d bytes", f.Name(), name, maxXattr)
	}
	return string(value), nil
}

// openStream opens the data stream name of the file f, ErrNoXattr where
// its volume has no named streams (FAT; Wine's view of a Unix file
// system, which would make "f:name" a file of its own).
func openStream(f *os.File, name string, access, disposition uint32) (*os.File, error) {
	var flags uint32
	err := windows.GetVolumeInformationByHandle(windows.Handle(f.Fd()), nil, 0, nil, nil, &flags, nil, 0)
	if err != nil {
		return nil, err
	}
	if flags&windows.FILE_NAMED_STREAMS == 0 {
		return nil, ErrNoXattr
	}
	path := f.Name()
	p, err := windows.UTF16PtrFromString(path + ":" + name)
	if err != nil {
		return nil, err
	}
	h, err := windows.CreateFile(p, access,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, disposition, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(h), path+":"+name), nil
}

// streamError is err from opening a stream, ErrNoXattr when the file
// system has no streams.
func streamError(op string, f *os.File, name string, err error) error {
	if errors.Is(err, ErrNoXattr) || errors.Is(err, windows.ERROR_INVALID_NAME) || errors.Is(err, windows.ERROR_NOT_SUPPORTED) || errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
		return ErrNoXattr
	}
	return &os.PathError{Op: op + " " + name, Path: f.Name(), Err: err}
}
