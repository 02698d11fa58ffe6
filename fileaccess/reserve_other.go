//go:build !linux

package fileaccess

import "os"

// reserveRange reserves nothing here (ok is false): writes allocate as
// they go. macOS and Windows have their own calls (F_PREALLOCATE,
// SetFileInformationByHandle), not used.
func reserveRange(*os.File, int64, int64) (ok bool, err error) { return false, nil }

// room checks nothing beyond MaxLength here: extending a file to try
// its size allocates it on some systems (NTFS), and a full disk shows
// when a write fails.
func room(*os.File, int64) error { return nil }
