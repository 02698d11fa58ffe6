//go:build !linux && !windows

package fileaccess

import "os"

// preallocate extends the file to size. macOS and Windows have their own
// reservation calls (F_PREALLOCATE, SetFileInformationByHandle); without
// them a full disk shows when a write fails rather than at the start, and
// the partial download is kept as everywhere.
func preallocate(f *os.File, size int64) error { return f.Truncate(size) }

// datasync is os.File.Sync: F_FULLFSYNC on macOS, FlushFileBuffers on
// Windows, fsync elsewhere.
func datasync(f *os.File) error { return f.Sync() }

// startWriteback does nothing: the hint exists only on Linux.
func startWriteback(*os.File) {}
