//go:build !linux && !windows

package fileaccess

// RenameNoReplace renames oldpath to newpath unless newpath exists; then it
// fails with an error satisfying errors.Is(err, fs.ErrExist) and changes
// nothing. Here it is a link and an unlink.
func RenameNoReplace(oldpath, newpath string) error {
	return linkRename(oldpath, newpath)
}
