package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/netfox/netfox/byterange"
	"github.com/netfox/netfox/fileaccess"
	"github.com/netfox/netfox/internal/units"
	"github.com/netfox/netfox/segment"
	"github.com/netfox/netfox/siteinfo"
	"github.com/netfox/netfox/state"
)

// What Continue compares before it trusts a file it takes over: all of a
// file of at most sampleAll bytes; of a larger one, sampleWindows windows
// spread over it, sampleAll bytes in all: the first sampleWindow bytes,
// the last sampleTail (the end is where a writer that was killed leaves
// torn or missing data) and the rest evenly between. Each window is one
// checked range request. A partial of another version of the file differs
// somewhere at its start, its end or in between: comparing only the end
// let a file whose first MiB differed through.
const (
	sampleAll     = 512 << 10
	sampleWindow  = 32 << 10
	sampleTail    = 256 << 10
	sampleBetween = (sampleAll - sampleWindow - sampleTail) / sampleWindow // 7
)

// samples are the ranges of a file of size bytes that Continue compares
// with the remote: [0, size) when size <= sampleAll, else the first
// window, sampleBetween windows evenly spaced after it, and the tail; in
// order, disjoint, sampleAll bytes in all.
func samples(size int64) []byterange.Range {
	if size <= sampleAll {
		if size == 0 {
			return nil
		}
		return []byterange.Range{{Start: 0, End: size}}
	}
	out := []byterange.Range{{Start: 0, End: sampleWindow}}
	tail := size - sampleTail
	// The windows between lie in [sampleWindow, tail) with equal gaps
	// before, between and after them: spare is what they leave, at least
	// 0 once size > sampleAll.
	const n = sampleBetween
	spare := tail - sampleWindow - n*sampleWindow
	for i := range int64(n) {
		start := sampleWindow + (i+1)*(spare/(n+1)) + i*sampleWindow
		out = append(out, byterange.Range{Start: start, End: start + sampleWindow})
	}
	return append(out, byterange.Range{Start: tail, End: size})
}

// describeSamples says in words what samples compared, for the notice.
func describeSamples(size int64, rs []byterange.Range) string {
	if len(rs) == 1 && rs[0].Start == 0 && rs[0].End == size {
		return "all of it matches the server"
	}
	var n int64
	for _, r := range rs {
		n += r.Len()
	}
	return fmt.Sprintf("%d windows of it (the first %s, the last %s and %d between, %s in all) match the server",
		len(rs), units.FormatSize(sampleWindow), units.FormatSize(sampleTail), len(rs)-2, units.FormatSize(n))
}

// adoption is what Continue made of the files at the output path.
type adoption struct {
	// complete reports that the file is whole and at the output path:
	// there is nothing to fetch.
	complete bool
	// size is the length of the file taken over, checked the bytes
	// fetched again to check it.
	size, checked int64
}

// adopt takes over a partial file that another program (a browser, curl,
// wget) or a download that lost its .info left at p.out or p.part, for
// Request.Continue. Nothing is trusted blindly: the file must be a regular
// file of the user's (fileaccess.OpenOwned; a .part also writable by no
// one else), and windows spread over it (samples: all of it when small)
// are fetched again with checked range requests; only when they are equal
// does adopt move the file to p.part and write a .info whose first
// segment is done up to the file's size; the normal resume then fetches
// the rest over all the connections. A file that does not match, or is
// longer than the remote, is left exactly as it was. A matching file as
// long as the remote is complete: it is left at (or moved to) p.out.
//
// With a .info beside the .part there is nothing to adopt: the download
// resumes from it as usual.
func (d *Downloader) adopt(ctx context.Context, info siteinfo.Info, p paths) (adoption, error) {
	switch _, err := os.Lstat(p.info); {
	case err == nil:
		return adoption{}, nil
	case !errors.Is(err, fs.ErrNotExist):
		return adoption{}, ioError(err)
	}
	path, err := adoptionCandidate(p)
	if path == "" || err != nil {
		return adoption{}, err
	}
	use := fileaccess.UseOwn
	if path == p.part {
		use = fileaccess.UsePrivate
	}
	size, checked, how, err := d.checkSamples(ctx, path, use, info)
	if errors.Is(err, ErrNotPartial) || errors.Is(err, ErrExists) {
		err = fmt.Errorf("%w (left as it was)", err)
		if path == p.part {
			// A .part without its .info: the CLI's advice is to discard
			// it, not to overwrite an output that does not exist.
			err = markedError{err, ErrLonePart}
		}
		return adoption{}, err
	}
	if err != nil {
		return adoption{}, err
	}
	a := adoption{complete: size == info.Length, size: size, checked: checked}
	if a.complete {
		if d.req.Checksum != nil {
			if err := d.req.Checksum.verify(path); err != nil {
				return adoption{}, err
			}
		}
		d.notify(EventAlreadyComplete, "%s is already complete: %s", p.out, how)
		if path == p.part {
			return a, d.finishAdopted(p, info)
		}
		return a, nil
	}
	if path == p.out {
		if err := privatize(p.out); err != nil {
			return adoption{}, err
		}
		if err := fileaccess.RenameNoReplace(p.out, p.part); err != nil {
			return adoption{}, ioError(err)
		}
	}
	if err := d.writeAdoptedState(info, p, size); err != nil {
		return adoption{}, err
	}
	d.adopted = true
	if size > 0 {
		d.notify(EventAdopted, "continuing %s from %s: %s", p.out, units.FormatSize(size), how)
	}
	return a, nil
}

// privatize drops the write permission of group and others from the
// user's file at path (a browser's, under a umask of 002) that becomes
// the .part: a .part must be writable by its owner only
// (fileaccess.UsePrivate). It is changed on the open file, checked as
// the user's.
func privatize(path string) error {
	f, err := fileaccess.OpenOwned(path, fileaccess.UseOwn)
	if err != nil {
		return ioError(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ioError(err)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		if err := f.Chmod(perm &^ 0o022); err != nil {
			return ioError(err)
		}
	}
	return nil
}

// adoptionCandidate returns the file Continue would take over: p.out when
// it is a regular file, else p.part; "" when there is none. Both at once
// are refused: which one to continue is the user's call.
func adoptionCandidate(p paths) (string, error) {
	out, outErr := os.Lstat(p.out)
	_, partErr := os.Lstat(p.part)
	for _, err := range []error{outErr, partErr} {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", ioError(err)
		}
	}
	switch {
	case outErr == nil && !out.Mode().IsRegular():
		return "", nil // a directory or a link: checkOutput says what is wrong
	case outErr == nil && partErr == nil:
		return "", fmt.Errorf("%w: both %s and %s exist, and Continue takes over only one of them: %w", ErrExists, p.out, p.part, ErrCannotContinue)
	case outErr == nil:
		return p.out, nil
	case partErr == nil:
		return p.part, nil
	}
	return "", nil
}

// checkSamples compares the file at path, opened as use asks
// (fileaccess.OpenOwned: no link followed, no FIFO waited on, another
// user's file refused), with the remote: the windows of samples are
// fetched again with checked range requests. It returns the file's size,
// the bytes fetched and what was compared in words, or an error wrapping
// ErrNotPartial when a window differs or the file is longer than the
// remote, ErrExists when the server cannot send a range. The file is only
// read, and closed before checkSamples returns.
func (d *Downloader) checkSamples(ctx context.Context, path string, use fileaccess.Use, info siteinfo.Info) (size, checked int64, how string, err error) {
	f, err := fileaccess.OpenOwned(path, use)
	switch {
	case errors.Is(err, fileaccess.ErrNotRegular):
		return 0, 0, "", fmt.Errorf("%w: %w; netfox does not read through it", ErrIO, err)
	case errors.Is(err, fileaccess.ErrForeign):
		return 0, 0, "", fmt.Errorf("%w; -c does not take it over, and leaves it as it is", err)
	case err != nil:
		return 0, 0, "", ioError(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, "", ioError(err)
	}
	size = fi.Size()
	switch {
	case !info.Ranges || info.Length < 0:
		return 0, 0, "", fmt.Errorf("%w: %s, and the server does not serve byte ranges of %s (%w): %w", ErrExists, path, d.req.URL, ErrRangeNotSupported, ErrCannotContinue)
	case size > info.Length:
		return 0, 0, "", fmt.Errorf("%w: %s has %d bytes, the remote file only %d", ErrNotPartial, path, size, info.Length)
	}
	windows := samples(size)
	rm := &siteinfo.Remote{Client: d.client, Info: info}
	for _, r := range windows {
		if err := d.compareWindow(ctx, f, rm, r, info); err != nil {
			return 0, 0, "", err
		}
		checked += r.Len()
	}
	return size, checked, describeSamples(size, windows), nil
}

// compareWindow fetches r of the remote and compares it with the same
// bytes of f: ErrNotPartial at the first byte that differs.
func (d *Downloader) compareWindow(ctx context.Context, f *os.File, rm *siteinfo.Remote, r byterange.Range, info siteinfo.Info) error {
	local := make([]byte, r.Len())
	if _, err := f.ReadAt(local, r.Start); err != nil {
		return ioError(err)
	}
	remote := make([]byte, r.Len())
	err := d.retry(ctx, "the check of "+filepath.Base(f.Name()), func() error {
		body, err := rm.OpenRange(ctx, r)
		if err != nil {
			return err
		}
		defer body.Close()
		if _, err := io.ReadFull(body, remote); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &siteinfo.NetError{Host: hostOf(info.URL), Err: err}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if i := firstDifference(local, remote); i >= 0 {
		return fmt.Errorf("%w: %s differs from %s at byte %d", ErrNotPartial, f.Name(), d.req.URL, r.Start+int64(i))
	}
	return nil
}

// firstDifference is the index of the first byte where a and b (of one
// length) differ, or -1.
func firstDifference(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return u.Host
}

// writeAdoptedState records the adopted file in p.info: one segment done
// up to size, the rest split over the connections. The .part is flushed
// first, so that the state may call its bytes synced, and the state is
// saved durably: from here on the download is an ordinary netfox one.
func (d *Downloader) writeAdoptedState(info siteinfo.Info, p paths, size int64) error {
	part, err := openPart(p.part)
	if err != nil {
		return err
	}
	defer part.Close()
	if err := part.Sync(); err != nil {
		return ioError(err)
	}
	spans := []segment.Span{{Start: 0, Next: size, Synced: size, End: size}}
	for _, r := range byterange.Split(info.Length-size, d.conns) {
		start, end := size+r.Start, size+r.End
		spans = append(spans, segment.Span{Start: start, Next: start, Synced: start, End: end})
	}
	if err := state.Save(p.info, d.stateOf(info, spans), true); err != nil {
		return ioError(err)
	}
	return nil
}

// finishAdopted makes a complete adopted p.part the output, as a finished
// download would.
func (d *Downloader) finishAdopted(p paths, info siteinfo.Info) error {
	part, err := openPart(p.part)
	if err != nil {
		return err
	}
	d.recordOrigin(part, info)
	if err := finish(part, p, d.req.Overwrite); err != nil {
		return ioError(err)
	}
	return nil
}

// continuable reports whether -c could take over a file of size bytes at
// the output path: it is shorter than a remote that serves ranges. The
// messages about such a file say so.
func continuable(size int64, info siteinfo.Info) bool {
	return info.Ranges && size < info.Length
}
