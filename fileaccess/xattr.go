package fileaccess

import "errors"

// ErrNoXattr indicates a file system, or a system, that keeps no
// extended attributes (user.* attributes on tmpfs before Linux 6.6, FAT,
// some network file systems).
var ErrNoXattr = errors.New("the file system keeps no extended attributes")

// maxXattr bounds the value of an extended attribute Xattr reads: a URL
// or an ETag is far smaller, and a larger one is not netfox's.
const maxXattr = 8 << 10

// SetXattr sets an extended attribute of the file (see the function
// SetXattr).
func (w *File) SetXattr(name, value string) error { return SetXattr(w.f, name, value) }
