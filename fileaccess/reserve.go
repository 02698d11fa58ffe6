package fileaccess

import (
	"errors"
	"fmt"
	"os"
)

// ErrFileTooLarge indicates a size that no file can have on the file
// system (EFBIG), or more than MaxLength.
var ErrFileTooLarge = errors.New("larger than a file can be here")

// MaxLength is the largest file netfox writes: 4 EiB, far beyond any file
// system's limit for one file (ext4 16 TiB, XFS and Btrfs 8 EiB less a
// little). A server that claims more is wrong, and byte offsets near
// 2^63 overflow.
const MaxLength = 1 << 62

// ReserveChunk is the step in which ReserveAsWritten reserves disk: each
// chunk of the file is reserved when the first byte arrives in it.
// 4 MiB keeps the reservation calls few (one per 4 MiB written) and what
// is reserved beyond the data small: at most one chunk per connection.
const ReserveChunk = 4 << 20

// Room checks that the file can grow to size bytes, before a byte is
// written or reserved: at most MaxLength, within the file system's limit
// for a file (a trial extension to size, sparse and undone at once,
// fails with EFBIG beyond it), and within the free space, counting what
// the file already holds. It returns an error wrapping ErrFileTooLarge,
// or one wrapping ENOSPC (errors.Is(err, syscall.ENOSPC)), that says the
// numbers.
func (w *File) Room(size int64) error {
	if size > MaxLength {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrFileTooLarge, size, int64(MaxLength))
	}
	return room(w.f, size)
}

// ReserveAsWritten makes every later WriteAt reserve the disk of the
// ReserveChunk-sized chunks it writes into, up to length (on Linux with
// fallocate, keeping the file's size; elsewhere writes allocate as they
// go). Disk is so reserved only where data arrives: a length that a
// server claims but never sends costs nothing, while the file is still
// laid out in large extents rather than fragmented by segments writing at
// many offsets at once. A full disk then shows as the write's error.
func (w *File) ReserveAsWritten(length int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.limit = length
	w.reserved = map[int64]bool{}
}

// reserve reserves the chunks of [off, off+n) not reserved yet.
func (w *File) reserve(off int64, n int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.limit <= 0 || n <= 0 {
		return nil
	}
	for c := off / ReserveChunk; c <= (off+int64(n)-1)/ReserveChunk; c++ {
		start := c * ReserveChunk
		if w.reserved[c] || start >= w.limit {
			continue
		}
		ok, err := reserveRange(w.f, start, min(ReserveChunk, w.limit-start))
		if err != nil {
			return &os.PathError{Op: "fallocate", Path: w.f.Name(), Err: err}
		}
		if !ok {
			w.limit = 0 // the file system cannot: writes allocate
			return nil
		}
		w.reserved[c] = true
	}
	return nil
}
