package fileaccess

import (
	"errors"
	"fmt"
	"os"
)

// ErrForeign indicates a file that netfox did not make for the user
// running it, or that others can change: owned by another user, with more
// than one hard link (its bytes are also another name's), or, for a file
// whose bytes become the output, writable by others. netfox neither reads
// it as its own nor writes into it, and leaves it as it is.
var ErrForeign = errors.New("not a file netfox made for this user")

// Use says what a file found at a path must be for netfox to use it:
// "adopt only what netfox made".
type Use int

const (
	// UseOwn is a regular file of the user running netfox, with a single
	// hard link: a .info, the cache of connection counts, an output
	// checked for being complete.
	UseOwn Use = iota
	// UsePrivate is UseOwn and, in addition, writable by its owner only:
	// a .part, whose bytes become the output.
	UsePrivate
)

// OpenOwned opens path for reading without following a symbolic link and
// without blocking on a FIFO or a device (a non-blocking open where the
// system has one), then checks on the open file, never on the path again,
// that it is what use asks (CheckOwned). A file that is not is closed and
// refused with ErrNotRegular or ErrForeign. The file returned reads as
// usual: O_NONBLOCK means nothing to a regular file.
func OpenOwned(path string, use Use) (*os.File, error) {
	f, err := openNoFollow(path)
	if err != nil {
		return nil, err
	}
	if err := CheckOwned(f, use); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// CheckOwned checks the open file f for use: a regular file (else
// ErrNotRegular), and the ownership rules of the system (else ErrForeign;
// see checkOwner).
func CheckOwned(f *os.File, use Use) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is a %s", ErrNotRegular, f.Name(), TypeName(fi.Mode()))
	}
	if why := checkOwner(fi, use); why != "" {
		return fmt.Errorf("%w: %s %s", ErrForeign, f.Name(), why)
	}
	return nil
}

// TypeName names the type of a non-regular file in words, for messages:
// "symbolic link", "FIFO", "character device".
func TypeName(m os.FileMode) string {
	switch {
	case m&os.ModeSymlink != 0:
		return "symbolic link"
	case m&os.ModeNamedPipe != 0:
		return "FIFO"
	case m&os.ModeCharDevice != 0:
		return "character device"
	case m&os.ModeDevice != 0:
		return "device"
	case m&os.ModeSocket != 0:
		return "socket"
	case m.IsDir():
		return "directory"
	}
	return "non-regular file (" + m.Type().String() + ")"
}
