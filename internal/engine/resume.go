package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/netfox/netfox/byterange"
	"github.com/netfox/netfox/fileaccess"
	"github.com/netfox/netfox/internal/safetext"
	"github.com/netfox/netfox/internal/units"
	"github.com/netfox/netfox/segment"
	"github.com/netfox/netfox/siteinfo"
	"github.com/netfox/netfox/state"
)

// checkPartFile refuses a .info whose .part is gone: the state claims
// bytes that no longer exist anywhere.
func (d *Downloader) checkPartFile(p paths) error {
	if d.req.Restart {
		return nil
	}
	_, infoErr := os.Stat(p.info)
	_, partErr := os.Stat(p.part)
	if infoErr == nil && errors.Is(partErr, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s exists but %s is missing", ErrBadState, p.info, p.part)
	}
	return nil
}

// checkLonePart refuses a .part that has data but no .info beside it: no
// control file says which bytes are ours, and it may be another program's
// partial file. It is left untouched. An empty one (a run that stopped
// before its first save) is taken over.
func checkLonePart(part *fileaccess.File, p paths, info siteinfo.Info) error {
	if part.Created() {
		return nil
	}
	if _, err := os.Lstat(p.info); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	size, err := part.Size()
	if err != nil {
		return ioError(err)
	}
	if size == 0 {
		return nil
	}
	err = fmt.Errorf("%w: %s has %d bytes but no %s; it is left untouched", ErrLonePart, p.part, size, filepath.Base(p.info))
	if continuable(size, info) {
		return markedError{err, ErrContinuable}
	}
	return err
}

// discard empties the partial download: first the state, so that no
// .info ever claims bytes of a truncated .part. A .info of another user
// (or with other hard links) is not netfox's to remove: it is refused
// with fileaccess.ErrForeign and left, with the .part, as they are.
func discard(part *fileaccess.File, infoPath string) error {
	if f, err := fileaccess.OpenOwned(infoPath, fileaccess.UseOwn); err == nil {
		f.Close()
	} else if errors.Is(err, fileaccess.ErrForeign) {
		return err
	}
	if err := os.Remove(infoPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return part.Truncate(0)
}

// plan returns the segments to fetch: those of the .info file when it
// describes the same version of the same file, else a fresh split. A
// .info that cannot be used, or that belongs to a download of another
// address not proven the same file, is refused on every path (ranged or
// one stream), before anything is emptied: a foreign partial download is
// never destroyed.
func (d *Downloader) plan(part *fileaccess.File, info siteinfo.Info, p paths) (*segment.Table, int64, error) {
	table := &segment.Table{MinSplit: d.req.MinSplit}
	saved, err := state.Load(p.info)
	there := err == nil
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// checkLonePart let only an empty or a discarded .part through.
	case errors.Is(err, fileaccess.ErrForeign):
		return nil, 0, fmt.Errorf("%w; netfox does not use it, and leaves it and %s as they are", err, filepath.Base(p.part))
	case err != nil:
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			return nil, 0, ioError(err)
		}
		return nil, 0, fmt.Errorf("%w: %w", ErrBadState, err)
	case !sameAddress(saved.URL, d.req.URL) && provenMoved(saved, info, d.req.Checksum != nil) == moveUnproven:
		return nil, 0, fmt.Errorf("%w: %s belongs to a download of %s, not %s, and nothing shows the two are the same file", ErrBadState, p.info, safetext.Escape(siteinfo.RedactURL(saved.URL)), siteinfo.RedactURL(d.req.URL))
	}
	if !info.Ranges || info.Length < 0 {
		// One stream from the start: no range can resume it. The .info
		// records no bytes, and a length of 0 that no later probe of a
		// non-empty file matches; it marks the .part as netfox's.
		marker := info
		marker.Length = 0
		if err := state.Save(p.info, d.stateOf(marker, nil), false); err != nil {
			return nil, 0, ioError(err)
		}
		if err := part.Truncate(0); err != nil {
			return nil, 0, ioError(err)
		}
		end := info.Length
		if end < 0 {
			end = math.MaxInt64
		}
		table.Add(0, 0, 0, end)
		return table, 0, nil
	}
	if there {
		if !sameAddress(saved.URL, d.req.URL) {
			// The next save records the new address.
			d.notify(EventMoved, "resuming from a new address: %s", provenMoved(saved, info, d.req.Checksum != nil))
		}
		resumed, err := d.resume(table, part, info, saved, p)
		if err != nil || resumed >= 0 {
			return table, resumed, err
		}
	}

	// A fresh start: record the new plan before emptying the .part, so
	// that the .info on disk never claims bytes of another version.
	parts := d.connectionsFor(info.Length)
	if d.auto {
		// As many segments as the search may reach connections: one
		// added takes a segment nobody fetches yet rather than cutting a
		// running request short (whose connection would then be closed
		// and another opened), and a worker that finishes its segment
		// takes the next over the connection it has.
		parts = min(d.splitsOf(info.Length), d.autoMax)
	}
	for _, r := range byterange.Split(info.Length, parts) {
		table.Add(r.Start, r.Start, r.Start, r.End)
	}
	if err := state.Save(p.info, d.stateOf(info, table.Snapshot()), true); err != nil {
		return nil, 0, ioError(err)
	}
	if err := part.Truncate(0); err != nil {
		return nil, 0, ioError(err)
	}
	if err := d.reserve(part, info); err != nil {
		return nil, 0, err
	}
	return table, 0, nil
}

// resume loads saved's segments into table when they can be trusted
// (decideResume) and returns the bytes taken over, or -1 when the
// download must start over.
func (d *Downloader) resume(table *segment.Table, part *fileaccess.File, info siteinfo.Info, saved state.State, p paths) (int64, error) {
	switch decideResume(saved, info, d.req.Checksum != nil || d.adopted) {
	case restartChanged:
		d.notify(EventRemoteChanged, "the remote file changed since the partial download (%s); starting over", describeChange(savedInfo(saved), info))
		return -1, nil
	case restartUnverifiable:
		d.notify(EventUnverifiable, "the server sends no ETag or Last-Modified that the partial download also has, so it cannot be checked against it; starting over")
		return -1, nil
	case restartNothingSaved, restartLength:
		return -1, nil
	}
	size, err := part.Size()
	if err != nil {
		return 0, ioError(err)
	}
	segs := saved.Resumable(d.bootID)
	var resumed, claimed int64
	for _, s := range segs {
		resumed += s.Next - s.Start
		if s.Next > s.Start {
			claimed = s.Next
		}
	}
	if size < claimed {
		return 0, fmt.Errorf("%w: %s has %d bytes but %s says %d are written", ErrBadState, p.part, size, p.info, claimed)
	}
	if err := d.reserve(part, info); err != nil {
		return 0, err
	}
	for _, s := range segs {
		table.Add(s.Start, s.Next, s.Synced, s.End)
	}
	if saved.BootID != d.bootID {
		d.notify(EventRebooted, "the machine rebooted since the partial download; resuming from the last flushed offsets")
	}
	d.notify(EventResumed, "resuming %s: %s of %s already here", filepath.Base(p.out), units.FormatSize(resumed), units.FormatSize(info.Length))
	return resumed, nil
}

// reserve readies part for info.Length bytes: refused when the file
// system cannot hold that many (ErrTooLarge) or has not the room
// (ErrIO, ENOSPC), else disk is reserved as the data arrives
// (fileaccess.File.ReserveAsWritten), never for a length no byte has
// confirmed: a server that claims 1 GiB and sends nothing costs nothing.
func (d *Downloader) reserve(part *fileaccess.File, info siteinfo.Info) error {
	err := part.Room(info.Length)
	switch {
	case errors.Is(err, fileaccess.ErrFileTooLarge):
		return tooLarge(info, err)
	case err != nil:
		return ioError(fmt.Errorf("the server claims %d bytes (%s) for %s: %w", info.Length, units.FormatSize(info.Length), part.Name(), err))
	}
	part.ReserveAsWritten(info.Length)
	return nil
}

// tooLarge is the error of a length that no file here can have.
func tooLarge(info siteinfo.Info, cause error) error {
	return fmt.Errorf("%w: the server claims %d bytes (%s) for %s: %w", ErrTooLarge, info.Length, units.FormatSize(info.Length), siteinfo.RedactURL(info.URL), cause)
}

// sameAddress reports whether the address saved in a .info, which holds
// no password, is the one asked for now.
func sameAddress(saved, requested string) bool {
	return siteinfo.RedactURL(saved) == siteinfo.RedactURL(requested)
}

// savedInfo is the version a .info was written for.
func savedInfo(saved state.State) siteinfo.Info {
	return siteinfo.Info{Length: saved.Length, ETag: saved.ETag, LastModified: saved.LastModified}
}

// resumeVerdict is what a download does with the partial download its
// .info describes, when the remote now serves info.
type resumeVerdict int

const (
	// resumeSame: the same version of the file; go on from the saved
	// segments.
	resumeSame resumeVerdict = iota + 1
	// restartNothingSaved: the .info marks a one-stream download (no
	// segments), which no range can continue.
	restartNothingSaved
	// restartChanged: a validator both sides have differs: another
	// version (siteinfo.CompareVersions, RFC 9110 13.1.3).
	restartChanged
	// restartLength: a length only one side knows; nothing to resume into.
	restartLength
	// restartUnverifiable: no validator both sides have, and nothing else
	// (a checksum the result is held to, a file Continue checked) to show
	// the bytes are this version's (RFC 9110 13.1.4: If-Range needs one).
	restartUnverifiable
)

// decideResume weighs a saved partial download against the remote now.
// checked reports that the result is proven otherwise: a checksum it will
// be held to, or windows of it that Continue compared with the remote.
func decideResume(saved state.State, now siteinfo.Info, checked bool) resumeVerdict {
	was := savedInfo(saved)
	version := siteinfo.CompareVersions(was, now)
	switch {
	case len(saved.Segments) == 0:
		return restartNothingSaved
	case version == siteinfo.VersionChanged:
		return restartChanged
	case was.Length != now.Length:
		return restartLength
	case !version.Same() && !checked:
		return restartUnverifiable
	}
	return resumeSame
}

// moveProof is why a file at a new address is the version a .info was
// written for, or moveUnproven.
type moveProof int

const (
	moveUnproven moveProof = iota
	// moveSameETag: an equal strong ETag and an equal length.
	moveSameETag
	// moveSameLastModified: an equal Last-Modified and an equal length.
	moveSameLastModified
	// moveChecksum: an equal length, and a checksum the result is held to.
	moveChecksum
)

// String is the proof as the notice gives it.
func (p moveProof) String() string {
	switch p {
	case moveSameETag:
		return "same ETag and length"
	case moveSameLastModified:
		return "same Last-Modified and length"
	case moveChecksum:
		return "same length, and the result will be checked against the checksum"
	}
	return "not proven"
}

// provenMoved tells why the file at a new address is the version saved
// was written for. Links change while files do not (a signed link past its
// expiry, a mirror picked by a redirector), but a new address may also
// name another file that happens to share the output name, so the proof
// is a validator that identifies the content (an equal strong ETag, or an
// equal Last-Modified, each with an equal length), or a checksum that the
// result will be held to.
func provenMoved(saved state.State, now siteinfo.Info, checksum bool) moveProof {
	was := savedInfo(saved)
	version := siteinfo.CompareVersions(was, now)
	switch {
	case was.Length != now.Length || was.Length < 0 || version == siteinfo.VersionChanged:
		return moveUnproven
	case version == siteinfo.VersionSameETag:
		return moveSameETag
	case version == siteinfo.VersionSameLastModified:
		return moveSameLastModified
	case checksum:
		return moveChecksum
	}
	return moveUnproven
}

// connectionsFor is the number of connections for n bytes: one per
// minimum-size segment (MinSplit), at least one, at most Connections. A
// smaller piece would cost a request, a round trip, for too little.
func (d *Downloader) connectionsFor(n int64) int {
	return min(d.splitsOf(n), d.conns)
}

// splitsOf is the number of minimum-size segments (MinSplit) in n bytes,
// at least one.
func (d *Downloader) splitsOf(n int64) int {
	return int(min(max(n/d.req.MinSplit, 1), MaxConnections))
}

// startsAtZero reports whether table has a segment to fetch from byte
// zero, the one the first request's answer can serve.
func startsAtZero(table *segment.Table) bool {
	for _, s := range table.Snapshot() {
		if s.Start == 0 && s.Next == 0 && s.End > 0 {
			return true
		}
	}
	return false
}

func describeChange(was, now siteinfo.Info) string {
	switch {
	case was.Length != now.Length:
		return fmt.Sprintf("length %d, now %d", was.Length, now.Length)
	case was.ETag != "" && now.ETag != "" && was.ETag != now.ETag:
		return fmt.Sprintf("ETag %s, now %s", safetext.Escape(was.ETag), safetext.Escape(now.ETag))
	default:
		return fmt.Sprintf("Last-Modified %s, now %s", safetext.Escape(was.LastModified), safetext.Escape(now.LastModified))
	}
}

// stateOf is what the .info records: no password, which would sit in a
// file others may read (the addresses are compared without it).
func (d *Downloader) stateOf(info siteinfo.Info, spans []segment.Span) state.State {
	st := state.State{
		URL:          siteinfo.RedactURL(d.req.URL),
		FinalURL:     siteinfo.RedactURL(info.URL),
		Length:       info.Length,
		ETag:         info.ETag,
		LastModified: info.LastModified,
		BootID:       d.bootID,
		Segments:     make([]state.Segment, 0, len(spans)),
	}
	for _, m := range d.req.Mirrors {
		st.Mirrors = append(st.Mirrors, siteinfo.RedactURL(m))
	}
	for _, s := range spans {
		st.Segments = append(st.Segments, state.Segment{Start: s.Start, Next: s.Next, Synced: s.Synced, End: s.End})
	}
	return st
}
