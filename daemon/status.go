package daemon

import (
	"path/filepath"
	"strconv"

	"github.com/netfox/netfox"
)

// statusOf is aria2's answer to tellStatus for it: every number a string,
// the files with their URIs, errorCode and errorMessage once stopped.
// keys, when not empty, keeps only those. Call with q.mu.
func (q *Queue) statusOf(it *item, keys []string) map[string]any {
	length, done := it.length, it.done
	var (
		speed       float64
		connections int
		spans       []netfox.Span
		path        = it.path
	)
	if it.tr != nil {
		// Running, or paused with its transfer kept (no rate then).
		snap := it.tr.Snapshot()
		if snap.Length > 0 {
			length = snap.Length
		}
		done = snap.Written
		speed = snap.Rate
		spans = snap.Segments
		connections = snap.Connections
		if snap.Path != "" {
			path = snap.Path
		}
	}
	if path == "" {
		if out := it.opts["out"]; out != "" {
			if p, err := confinedOut(Config{Dir: it.dir, AllowOutside: true}, it.dir, out); err == nil {
				path = p
			}
		}
	}
	m := map[string]any{
		"gid":             it.gid,
		"status":          it.status,
		"totalLength":     itoa(length),
		"completedLength": itoa(done),
		"uploadLength":    "0",
		"downloadSpeed":   itoa(int64(speed)),
		"uploadSpeed":     "0",
		"connections":     strconv.Itoa(connections),
		"pieceLength":     itoa(pieceLength),
		"dir":             it.dir,
		"files":           []any{q.fileOf(it, path, length, done)},
	}
	switch {
	case it.status == statusComplete || (length > 0 && done == length):
		spans = []netfox.Span{{Start: 0, Next: length, End: length}}
	case it.tr == nil:
		spans = it.spans
	}
	// As aria2, a download whose length is known has a bitfield, whatever
	// its state.
	bits, pieces := bitfield(length, spans)
	m["numPieces"] = itoa(pieces)
	if pieces > 0 {
		m["bitfield"] = bits
	}
	switch it.status {
	case statusError, statusComplete, statusRemoved:
		m["errorCode"] = strconv.Itoa(it.errCode)
		m["errorMessage"] = it.errMsg
	}
	return filterKeys(m, keys)
}

// fileOf is the one file of a download, aria2's files[0].
func (q *Queue) fileOf(it *item, path string, length, done int64) map[string]any {
	uriStatus := "waiting"
	if it.status != statusWaiting && it.status != statusPaused {
		uriStatus = "used"
	}
	uris := make([]any, 0, len(it.uris))
	for _, u := range it.uris {
		uris = append(uris, map[string]string{"uri": u, "status": uriStatus})
	}
	if path != "" {
		path = filepath.Clean(path)
	}
	return map[string]any{
		"index":           "1",
		"path":            path,
		"length":          itoa(length),
		"completedLength": itoa(done),
		"selected":        "true",
		"uris":            uris,
	}
}

func filterKeys(m map[string]any, keys []string) map[string]any {
	if len(keys) == 0 {
		return m
	}
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}
