package netfox

import (
	"fmt"
	"strconv"
)

// Notice is a one-line message for the user about how a download goes:
// a fallback, a fresh start, a retry. Kind says which; Text says it in
// English, with the details, for a person to read.
type Notice struct {
	Kind NoticeKind
	Text string
}

// NoticeKind names what a Notice reports. A program acts on the kind;
// the Text may be reworded.
type NoticeKind int

// The kinds of notice a download gives.
const (
	// NoticeRetry: a request failed and is tried again after a wait
	// (the first request, or a segment when Request.OnRetry is not set).
	NoticeRetry NoticeKind = iota + 1
	// NoticeOverloaded: the server said it is overloaded (429, 503);
	// the download goes on with fewer connections.
	NoticeOverloaded
	// NoticeRangesIgnored: the server answered a range request with
	// something else; the download starts over in one stream.
	NoticeRangesIgnored
	// NoticeNoLength: the server does not give the file's length; one
	// stream, which an interruption starts over.
	NoticeNoLength
	// NoticeNoRanges: the server does not serve byte ranges; one
	// stream, which an interruption starts over.
	NoticeNoRanges
	// NoticeHeadContradicted: HEAD gave another length than a GET
	// serves; the GET is trusted.
	NoticeHeadContradicted
	// NoticeRemoteChanged: the remote file changed since the partial
	// download; it starts over.
	NoticeRemoteChanged
	// NoticeRemoteChangedMidway: the remote file changed during the
	// download; it starts over.
	NoticeRemoteChangedMidway
	// NoticeUnverifiable: the server sends no ETag or Last-Modified, so
	// the partial download cannot be checked; it starts over.
	NoticeUnverifiable
	// NoticeMoved: a partial download goes on from a new address,
	// proven to serve the same file.
	NoticeMoved
	// NoticeRebooted: the machine rebooted since the partial download;
	// it resumes from the last flushed offsets.
	NoticeRebooted
	// NoticeResumed: a partial download resumes; the Text says how much
	// is already here.
	NoticeResumed
	// NoticeAlreadyComplete: with Request.Continue, the existing file
	// is already the whole remote file.
	NoticeAlreadyComplete
	// NoticeAdopted: with Request.Continue, an existing file is taken
	// over and continued.
	NoticeAdopted
	// NoticeMirrorUnusable: a mirror failed its probe; the download
	// goes on without it.
	NoticeMirrorUnusable
	// NoticeMirrorNoRanges: a mirror does not serve byte ranges; the
	// download goes on without it.
	NoticeMirrorNoRanges
	// NoticeMirrorsUnproven: the mirrors give different ETag or
	// Last-Modified values; only their length shows they hold the same
	// file.
	NoticeMirrorsUnproven
	// NoticeMirrorDropped: a mirror failed during the download and is
	// given up; the others go on.
	NoticeMirrorDropped
	// NoticeSaveFailed: the progress (the .info file) could not be
	// saved.
	NoticeSaveFailed
	// NoticeMtimeFailed: the finished file's modification time could
	// not be set to the remote's Last-Modified.
	NoticeMtimeFailed
	// NoticeStreaming: a download to a stream, which an interruption
	// starts over.
	NoticeStreaming
	// NoticeCacheFailed: the count -n auto settled at could not be
	// remembered for the host; the download itself is done.
	NoticeCacheFailed
	// NoticeOriginFailed: where the finished file came from could not be
	// recorded in its extended attributes (a file system without them
	// records nothing, silently); a re-run cannot prove it complete.
	NoticeOriginFailed
)

var noticeNames = [...]string{
	NoticeRetry:               "retry",
	NoticeOverloaded:          "overloaded",
	NoticeRangesIgnored:       "ranges_ignored",
	NoticeNoLength:            "no_length",
	NoticeNoRanges:            "no_ranges",
	NoticeHeadContradicted:    "head_contradicted",
	NoticeRemoteChanged:       "remote_changed",
	NoticeRemoteChangedMidway: "remote_changed_midway",
	NoticeUnverifiable:        "unverifiable",
	NoticeMoved:               "moved",
	NoticeRebooted:            "rebooted",
	NoticeResumed:             "resumed",
	NoticeAlreadyComplete:     "already_complete",
	NoticeAdopted:             "adopted",
	NoticeMirrorUnusable:      "mirror_unusable",
	NoticeMirrorNoRanges:      "mirror_no_ranges",
	NoticeMirrorsUnproven:     "mirrors_unproven",
	NoticeMirrorDropped:       "mirror_dropped",
	NoticeSaveFailed:          "save_failed",
	NoticeMtimeFailed:         "mtime_failed",
	NoticeStreaming:           "streaming",
	NoticeCacheFailed:         "cache_failed",
	NoticeOriginFailed:        "origin_failed",
}

// String is the kind's name in snake case, as the CLI's --json notice
// events give it: "retry", "mirror_dropped".
func (k NoticeKind) String() string {
	if k > 0 && int(k) < len(noticeNames) {
		return noticeNames[k]
	}
	return "NoticeKind(" + strconv.Itoa(int(k)) + ")"
}

// notify builds a notice and gives it to the request's OnNotice and
// Notify: the one way the library tells the user anything.
func (d *downloader) notify(kind NoticeKind, format string, args ...any) {
	if d.req.OnNotice == nil && d.req.Notify == nil {
		return
	}
	n := Notice{Kind: kind, Text: fmt.Sprintf(format, args...)}
	if d.req.OnNotice != nil {
		d.req.OnNotice(n)
	}
	if d.req.Notify != nil {
		d.req.Notify(n.Text)
	}
}
