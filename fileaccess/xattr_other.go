//go:build !linux && !darwin && !windows

package fileaccess

import "os"

// SetXattr records nothing here: extended attributes are reached
// through other calls on the BSDs (extattr), which netfox does not use.
// It returns ErrNoXattr.
func SetXattr(*os.File, string, string) error { return ErrNoXattr }

// Xattr returns ErrNoXattr here (see SetXattr).
func Xattr(*os.File, string) (string, error) { return "", ErrNoXattr }
