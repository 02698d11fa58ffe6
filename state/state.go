// Package state reads and writes the .info control file that lets an
// interrupted download resume: which version of which remote file is being
// fetched, and how far each segment got.
//
// # Format
//
// A .info file is three parts, each ending in a newline:
//
//	netfox-info 1                  magic and format version
//	{"url":...,"segments":[...]}   the State as JSON, on one line
//	crc32c 1a2b3c4d                checksum of the JSON line
//
// The checksum catches a truncated or garbled file; the magic line catches
// a file that is not ours, and the version one written by a newer netfox.
//
// # What a segment claims
//
// Each segment records Next, the first byte not yet written to the .part
// file, and Synced, the first byte not yet known to be on stable storage.
// A process that is killed loses nothing the kernel already has, so after
// a crash the bytes below Next are in the .part; after a power loss only
// the bytes below Synced are. Writing the .part with fdatasync before every
// save would make every save slow, so saves are of two kinds: frequent
// cheap ones (no fsync) that advance Next, and rare durable ones that
// fdatasync the .part first and only then advance Synced. The file also
// records the boot ID of the machine that wrote it: a resume on the same
// boot trusts Next, a resume after a reboot trusts only Synced.
//
// It is part of netfox's engine, not its stable API (package netfox):
// its exported names may change between versions.
package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/netfox/netfox/fileaccess"
)

// Version is the format version this package writes.
const Version = 1

const magic = "netfox-info"

// State is everything a resume needs.
type State struct {
	// URL is the address the user asked for; FinalURL the one after redirects.
	URL      string `json:"url"`
	FinalURL string `json:"final_url,omitempty"`
	// Mirrors are the other addresses the download used.
	Mirrors []string `json:"mirrors,omitempty"`
	// Length is the file's size in bytes.
	Length int64 `json:"length"`
	// ETag and LastModified are the validators of the version being fetched.
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	// BootID identifies the boot of the machine that wrote the file.
	BootID   string    `json:"boot_id,omitempty"`
	Segments []Segment `json:"segments"`
}

// Segment is one range of the file: [Start, End), with bytes [Start, Next)
// written and [Start, Synced) flushed to stable storage.
type Segment struct {
	Start  int64 `json:"start"`
	Next   int64 `json:"next"`
	Synced int64 `json:"synced"`
	End    int64 `json:"end"`
}

// Written is the number of bytes the state claims are in the .part file,
// trusting the offsets that fit the current boot (see Resumable).
func (s State) Written(bootID string) int64 {
	var n int64
	for _, seg := range s.Resumable(bootID) {
		n += seg.Next - seg.Start
	}
	return n
}

// Resumable returns the segments with Next set to what can be trusted now:
// the written offset when bootID is the boot that saved the state (the
// kernel still holds every byte written), else the synced offset.
func (s State) Resumable(bootID string) []Segment {
	segs := make([]Segment, len(s.Segments))
	copy(segs, s.Segments)
	if bootID == "" || bootID != s.BootID {
		for i := range segs {
			segs[i].Next = segs[i].Synced
		}
	}
	return segs
}

// Sentinel errors of Load; the returned error wraps one of them and names
// the file.
var (
	// ErrNotInfo indicates a file that is not a netfox .info file.
	ErrNotInfo = errors.New("not a netfox control file")
	// ErrCorrupt indicates a .info file that is truncated or damaged.
	ErrCorrupt = errors.New("control file is damaged")
	// ErrVersion indicates a .info file written by a newer netfox.
	ErrVersion = errors.New("control file has an unknown format version")
)

// Encode serialises s.
func Encode(s State) ([]byte, error) {
	body, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\n", magic, Version)
	b.Write(body)
	fmt.Fprintf(&b, "\ncrc32c %08x\n", crc32.Checksum(body, castagnoli))
	return b.Bytes(), nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Decode parses and checks a .info file's contents.
func Decode(data []byte) (State, error) {
	header, rest, ok := bytes.Cut(data, []byte("\n"))
	name, ver, _ := strings.Cut(string(header), " ")
	if name != magic {
		return State{}, ErrNotInfo
	}
	if !ok {
		return State{}, fmt.Errorf("%w: truncated after the header", ErrCorrupt)
	}
	v, err := strconv.Atoi(ver)
	if err != nil || v < 1 {
		return State{}, fmt.Errorf("%w: bad version %q", ErrCorrupt, ver)
	}
	if v > Version {
		return State{}, fmt.Errorf("%w: %d (this netfox reads %d)", ErrVersion, v, Version)
	}
	body, trailer, ok := bytes.Cut(rest, []byte("\n"))
	if !ok {
		return State{}, fmt.Errorf("%w: truncated", ErrCorrupt)
	}
	if !bytes.HasPrefix(trailer, []byte("crc32c ")) || !bytes.HasSuffix(trailer, []byte("\n")) {
		return State{}, fmt.Errorf("%w: truncated or missing checksum", ErrCorrupt)
	}
	if want := fmt.Sprintf("crc32c %08x\n", crc32.Checksum(body, castagnoli)); string(trailer) != want {
		return State{}, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	var s State
	if err := json.Unmarshal(body, &s); err != nil {
		return State{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if err := s.check(); err != nil {
		return State{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return s, nil
}

// check verifies that the segments tile the file: in order, each starting
// where the previous one ends, the first at 0 and the last ending at
// Length, with each offset in its place. A byte no segment owns would
// never be fetched, so a resume can trust only a file that accounts for
// every byte.
func (s State) check() error {
	if s.URL == "" {
		return errors.New("no URL")
	}
	if s.Length < 0 {
		return fmt.Errorf("negative length %d", s.Length)
	}
	var prevEnd int64
	for i, seg := range s.Segments {
		if seg.Start != prevEnd {
			return fmt.Errorf("segment %d starts at byte %d, the one before it ends at %d: the segments do not cover the file", i, seg.Start, prevEnd)
		}
		if !(seg.Start <= seg.Synced && seg.Synced <= seg.Next && seg.Next <= seg.End && seg.End <= s.Length) {
			return fmt.Errorf("segment %d out of place: start %d synced %d next %d end %d (length %d)",
				i, seg.Start, seg.Synced, seg.Next, seg.End, s.Length)
		}
		prevEnd = seg.End
	}
	if prevEnd != s.Length {
		return fmt.Errorf("the segments end at byte %d of %d: they do not cover the file", prevEnd, s.Length)
	}
	return nil
}

// Load reads the .info file at path. A missing file is reported with an
// error satisfying errors.Is(err, fs.ErrNotExist). The file is opened as
// fileaccess.OpenOwned does: a symbolic link is not followed, a FIFO does
// not block, and a file that is not a regular one of the user running
// netfox with a single link is refused (fileaccess.ErrNotRegular,
// fileaccess.ErrForeign): anyone may plant a .info in a shared
// directory. A file larger than MaxSize is refused by its size, before a
// byte of it is read (ErrCorrupt).
func Load(path string) (State, error) {
	f, err := fileaccess.OpenOwned(path, fileaccess.UseOwn)
	if err != nil {
		return State{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return State{}, err
	}
	if fi.Size() > MaxSize {
		return State{}, fmt.Errorf("%s: %w: %d bytes, larger than any control file (at most %d)", path, ErrCorrupt, fi.Size(), MaxSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return State{}, err
	}
	if len(data) > MaxSize {
		return State{}, fmt.Errorf("%s: %w: larger than any control file (at most %d bytes)", path, ErrCorrupt, MaxSize)
	}
	s, err := Decode(data)
	if err != nil {
		return State{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// MaxSize bounds a .info file: 16 MiB holds some 200 000 segments (a
// segment is about 80 bytes of JSON), far more than a download has (the
// connections at most, plus the splits of work stealing, each of at least
// the minimum split).
const MaxSize = 16 << 20

// Save writes s to path atomically: into a temporary file in the same
// directory, then renamed over path, so that a reader (or a crash) sees
// either the old or the new state, never a mix. The temporary file is
// created exclusively (O_EXCL), and the rename replaces a symbolic link at
// path rather than writing through it. When durable is true the
// temporary file is fsynced before the rename and the directory after it:
// without the first a power loss can leave the new name pointing at an
// empty file, without the second the rename itself may be lost.
func Save(path string, s State, durable bool) (err error) {
	data, err := Encode(s)
	if err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "." // not "": CreateTemp would use $TMPDIR, maybe another file system
	}
	f, err := os.CreateTemp(dir, tempPattern(base))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if durable {
		if err = f.Sync(); err != nil {
			return err
		}
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if durable {
		return SyncDir(dir)
	}
	return nil
}

// tempPattern is the pattern of Save's temporary file for a .info named
// base: base.NUMBER.tmp, or where that would be longer than a file name
// may be (255 bytes, NAME_MAX), .netfox-NUMBER.info.tmp: a long output
// name must not make the save fail.
func tempPattern(base string) string {
	if len(base)+len(".4294967295.tmp") > 255 {
		return ".netfox-*.info.tmp"
	}
	return base + ".*.tmp"
}

// BootID identifies the running boot of this machine, or "" where the
// kernel does not say (then resumes trust only synced offsets).
func BootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
