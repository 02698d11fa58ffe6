package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/netfox/netfox/fileaccess"
	"github.com/netfox/netfox/siteinfo"
	"github.com/netfox/netfox/state"
)

// openPart opens and locks the .part file.
func openPart(path string) (*fileaccess.File, error) {
	part, err := fileaccess.Open(path)
	switch {
	case errors.Is(err, fileaccess.ErrLocked):
		return nil, err
	case errors.Is(err, fileaccess.ErrNotRegular):
		return nil, fmt.Errorf("%w: %w; netfox does not write through it", ErrIO, err)
	case errors.Is(err, fileaccess.ErrForeign):
		return nil, fmt.Errorf("%w; netfox does not use it, and leaves it as it is", err)
	case err != nil:
		return nil, ioError(err)
	}
	return part, nil
}

// paths are the three files of one download.
type paths struct {
	out, part, info string
}

// openOutput opens and locks the .part, and readies it for this run:
// emptied for Restart, refused when it holds data no .info vouches for.
// It reports complete when a run that finished while this one opened
// the .part left the remote's version at the output: nothing to fetch.
func (d *Downloader) openOutput(p paths, info siteinfo.Info) (part *fileaccess.File, complete bool, err error) {
	if err := d.checkPartFile(p); err != nil {
		return nil, false, err
	}
	if part, err = openPart(p.part); err != nil {
		return nil, false, err
	}
	// A run that finished while this one opened the .part leaves PATH
	// behind (Open then made a new .part): stop rather than fetch again;
	// when PATH is provably the remote's version, as a re-run would.
	if complete, err = d.checkOutput(p.out, info); err != nil || complete {
		if part.Created() {
			os.Remove(p.part)
		}
		part.Close()
		return nil, complete, err
	}
	if d.req.Restart {
		err = discard(part, p.info)
		if errors.Is(err, fileaccess.ErrForeign) {
			err = fmt.Errorf("%w; Restart does not remove it", err)
		} else if err != nil {
			err = ioError(err)
		}
	} else {
		err = checkLonePart(part, p, info)
	}
	if err != nil {
		part.Close()
		return nil, false, err
	}
	return part, false, nil
}

// outputPaths decides where the file goes: Output as given, or the
// server's suggested name inside Dir.
func (d *Downloader) outputPaths(info siteinfo.Info) paths {
	out := d.req.Output
	if out == "" {
		out = filepath.Join(d.req.Dir, info.Filename)
	}
	return pathsOf(out)
}

// pathsOf are the files of a download to out: out.part and out.info, or
// for a name too long for the suffix (NAME_MAX is 255 bytes) a shortened
// name with a hash of the whole (auxName).
func pathsOf(out string) paths {
	return paths{out: out, part: auxName(out, ".part"), info: auxName(out, ".info")}
}

// maxName is the longest file name in bytes (NAME_MAX on Linux, most
// file systems elsewhere).
const maxName = 255

// auxName is out+suffix, or when its last element would be longer than
// maxName, that element cut to fit (at a UTF-8 boundary), a "~" and 8 hex
// digits of a hash of the whole name, then suffix: the same name every
// run (a resume finds it), and two long names that share a beginning get
// different ones. A name of 240 to 255 bytes is then saved as curl and
// aria2c save it, rather than failing on its .part or .info.
func auxName(out, suffix string) string {
	dir, base := filepath.Split(out)
	if len(base)+len(suffix) <= maxName {
		return out + suffix
	}
	sum := sha256.Sum256([]byte(base))
	tag := "~" + hex.EncodeToString(sum[:4])
	cut := maxName - len(suffix) - len(tag)
	for cut > 0 && !utf8.RuneStart(base[cut]) {
		cut--
	}
	return dir + base[:cut] + tag + suffix
}

// checkOutput refuses to replace a finished file unless told to: the .part
// suffix keeps unfinished data apart, so a file at the output path is
// a complete earlier download or someone else's file. It reports whether
// the file is provably the remote's current version (see complete.go):
// then there is nothing to do. Anything but a regular file (a device, a
// FIFO, a symbolic link) is never replaced, Overwrite or not, and never
// written through.
func (d *Downloader) checkOutput(out string, info siteinfo.Info) (complete bool, err error) {
	fi, err := os.Lstat(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, ioError(err)
	case fi.IsDir():
		return false, fmt.Errorf("%w: %s is a directory", ErrIO, out)
	case !fi.Mode().IsRegular():
		return false, fmt.Errorf("%w: %w: %s is a %s; netfox replaces only regular files and leaves it as it is", ErrIO, ErrNotRegular, out, fileaccess.TypeName(fi.Mode()))
	}
	return d.checkExisting(out, fi, info)
}

// finish makes the download final: flush the data, so that a power loss
// right after cannot leave a file of the right name with holes, then
// rename and drop the control file.
// The rename happens before the close, under the lock; a run that opened
// the .part just before sees, once it has the lock, that the name is gone
// (fileaccess.Open). Unless overwrite is set, the rename never replaces a
// file that appeared at the output path during the download: it fails
// with fs.ErrExist and leaves the .part and the .info as they are.
func finish(part *fileaccess.File, p paths, overwrite bool) error {
	err := part.Sync()
	if err == nil && overwrite {
		err = fileaccess.Rename(p.part, p.out)
	} else if err == nil {
		err = fileaccess.RenameNoReplace(p.part, p.out)
	}
	if errors.Is(err, fs.ErrExist) {
		part.Close()
		return err
	}
	if err == nil {
		err = os.Remove(p.info)
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	}
	if closeErr := part.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return err
	}
	return state.SyncDir(filepath.Dir(p.out))
}
