package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/siteinfo"
)

// placeOutput decides where a download's file goes from -d (dir) and -o
// or a list's OUTPUT (output), as Request.Output and Request.Dir:
//   - no output: the server's name for the file, inside dir;
//   - a relative output: inside dir, as aria2c takes -o inside -d;
//   - an absolute output: as given, dir plays no part (aria2c would put
//     it under dir all the same, -d dl -o /tmp/f giving dl/tmp/f, which
//     nobody typing an absolute path means);
//   - "-": stdout;
//   - an output ending in / or naming a directory: refused as wget and
//     aria2c refuse it, with the flag that does it (-d DIR).
//
// what names the output in a refusal ("-o", "line 3: OUTPUT").
func placeOutput(dir, output, what string) (out, outDir string, err error) {
	switch {
	case output == "-":
		return output, "", nil
	case output == "":
		return "", dir, nil
	}
	if strings.HasSuffix(output, "/") || strings.HasSuffix(output, string(os.PathSeparator)) {
		return "", "", usageError{fmt.Errorf("%s %s names a directory; to save into it under the server's name use -d %s", what, output, filepath.Join(dir, output))}
	}
	if !filepath.IsAbs(output) && dir != "" {
		output = filepath.Join(dir, output)
	}
	if fi, err := os.Stat(output); err == nil && fi.IsDir() {
		return "", "", usageError{fmt.Errorf("%s %s is a directory; to save into it under the server's name use -d %s", what, output, output)}
	}
	return output, "", nil
}

// makeDir creates the directory a placed output goes into when it lies
// in -d (dir) and is missing, as aria2c does (mode 0755, less the umask):
// -d itself, or the directories of a relative -o inside it.
func makeDir(dir string, req netfox.Request) error {
	where := req.Dir
	if req.Output != "" {
		where = filepath.Dir(req.Output)
	}
	if dir == "" || req.Output == "-" || !within(dir, where) {
		return nil
	}
	if err := os.MkdirAll(where, 0o755); err != nil {
		return fmt.Errorf("%w: -d: %w", netfox.ErrIO, err)
	}
	return nil
}

// within reports whether path is dir or lies under it, lexically.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// plannedPath is the file a request is expected to write before the
// server is asked: its Output, else the name its URL gives inside Dir
// (the server may still name it otherwise, by Content-Disposition or a
// redirect). Empty when the URL does not parse.
func plannedPath(req netfox.Request) string {
	if req.Output != "" {
		return req.Output
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		return ""
	}
	return filepath.Join(req.Dir, siteinfo.Filename("", u))
}

// samePath is the key two paths of one file share.
func samePath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}

// duplicateOutputs refuses a list two of whose lines would write the same
// file, as far as the list tells before any server is asked: their
// OUTPUT, or the names their URLs give. Both lines are named.
func duplicateOutputs(jobs []job, reqs []netfox.Request) error {
	first := map[string]int{}
	for i, req := range reqs {
		path := plannedPath(req)
		if path == "" || path == "-" {
			continue
		}
		key := samePath(path)
		if j, ok := first[key]; ok {
			return usageError{fmt.Errorf("lines %d and %d both save to %s; give one of them another OUTPUT (URL OUTPUT)", jobs[j].line, jobs[i].line, path)}
		}
		first[key] = i
	}
	return nil
}

// clashKind reports whether err is how a line of a batch fails when
// another line writes the same file: busy, already there, or a lone
// .part.
func clashKind(err error) bool {
	return errors.Is(err, netfox.ErrBusy) || errors.Is(err, netfox.ErrExists) || errors.Is(err, netfox.ErrLonePart)
}

// sameOutput is the error of a line of a batch whose file turned out,
// once the server named it, to be another line's: the download found the
// other's file busy or already there. It replaces that error, whose
// advice (-c, --overwrite) would be about the other line's file.
func sameOutput(err error, line, other int, path string) error {
	if !clashKind(err) {
		return err
	}
	return usageError{fmt.Errorf("line %d: the server names its file %s, as line %d's; give one of them an OUTPUT (URL OUTPUT)", line, printable(path), other)}
}
