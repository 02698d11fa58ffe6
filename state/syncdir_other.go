//go:build !windows

package state

import "os"

// SyncDir flushes a directory, making renames and removals in it durable:
// on Unix a rename is an entry in the directory, and it reaches the disk
// when the directory does.
func SyncDir(dir string) error {
	if dir == "" {
		dir = "."
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
