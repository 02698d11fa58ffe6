//go:build windows

package fileaccess

import (
	"os"

	"golang.org/x/sys/windows"
)

// preallocate marks the file sparse and sets its end to size. NTFS keeps,
// besides a file's end, the end of its valid data, and a write beyond
// that first fills the gap with zeros: extending a file with Truncate and
// then writing segments at their offsets writes most of a large file
// twice, the zeros in one long write within the first write of a far
// segment. In a sparse file a write costs only what it writes. The price
// is the one macOS pays: a full disk shows when a write fails, not at the
// start (reserving clusters would bring back the zero-filling, and
// SetFileValidData needs a privilege and exposes old disk contents). Where
// the file system has no sparse files (FAT) the file is only extended.
func preallocate(f *os.File, size int64) error {
	var returned uint32
	windows.DeviceIoControl(windows.Handle(f.Fd()), windows.FSCTL_SET_SPARSE, nil, 0, nil, 0, &returned, nil)
	return f.Truncate(size)
}

// datasync is FlushFileBuffers (os.File.Sync): the file's data and
// metadata.
func datasync(f *os.File) error { return f.Sync() }

// startWriteback does nothing: the hint exists only on Linux.
func startWriteback(*os.File) {}
