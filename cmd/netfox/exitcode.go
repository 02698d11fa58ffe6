package main

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/safetext"
)

// Exit codes, one per cause of failure; documented in the README.
const (
	exitOK            = 0
	exitFailure       = 1 // anything not listed below
	exitUsage         = 2
	exitNetwork       = 3
	exitHTTPStatus    = 4
	exitRemoteChanged = 5
	exitBadState      = 6
	exitIO            = 7
	exitBadResponse   = 8
	exitExists        = 9
	exitChecksum      = 10
	exitNotPartial    = 11
	exitInsecure      = 12
	exitForeign       = 13
	exitTooLarge      = 14
	exitRedirects     = 15
	exitRedirectLoop  = 16
	exitRedirectTo    = 17
	exitInterrupted   = 130
)

// usageError marks errors in the command line itself.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func exitCode(err error) int {
	var (
		status *netfox.StatusError
		netErr *netfox.NetError
		batch  exitError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &batch):
		return batch.code
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, new(usageError)), errors.Is(err, netfox.ErrUsage), errors.Is(err, netfox.ErrMirrorMismatch):
		return exitUsage
	case errors.Is(err, netfox.ErrRemoteChanged):
		return exitRemoteChanged
	case errors.Is(err, netfox.ErrInsecureRedirect):
		return exitInsecure
	case errors.Is(err, netfox.ErrTooManyRedirects):
		return exitRedirects
	case errors.Is(err, netfox.ErrRedirectLoop):
		return exitRedirectLoop
	case errors.Is(err, netfox.ErrRedirectScheme):
		return exitRedirectTo
	case errors.Is(err, netfox.ErrForeign):
		return exitForeign
	case errors.Is(err, netfox.ErrTooLarge):
		return exitTooLarge
	case errors.Is(err, netfox.ErrBadState):
		return exitBadState
	case errors.Is(err, netfox.ErrChecksum):
		return exitChecksum
	case errors.Is(err, netfox.ErrNotPartial):
		return exitNotPartial
	case errors.Is(err, netfox.ErrIO):
		return exitIO
	case errors.Is(err, netfox.ErrExists), errors.Is(err, netfox.ErrBusy):
		return exitExists
	case errors.Is(err, netfox.ErrLonePart):
		// After ErrNotPartial and ErrExists: Continue marks a refused
		// .part with ErrLonePart for advice(), not for its exit code.
		return exitBadState
	case errors.Is(err, netfox.ErrBadResponse), errors.Is(err, netfox.ErrRangeNotSupported):
		return exitBadResponse
	case errors.As(err, &status):
		return exitHTTPStatus
	case errors.As(err, &netErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, netfox.ErrStalled):
		// A body cut short or stalled after all retries is the network's
		// doing too.
		return exitNetwork
	}
	return exitFailure
}

// message is the one line printed for err.
func message(err error) string {
	resumable, notResumable := errors.Is(err, netfox.ErrResumable), errors.Is(err, netfox.ErrNotResumable)
	switch {
	case errors.Is(err, context.Canceled) && resumable:
		return "interrupted; progress is saved, run the same command again to resume"
	case errors.Is(err, context.Canceled) && notResumable:
		return "interrupted; this download cannot be resumed (a stream, or a server without byte ranges or length), so the next run starts over"
	case errors.Is(err, context.Canceled):
		return "interrupted"
	}
	msg := printable(strings.ReplaceAll(err.Error(), "\n", " "))
	if a := advice(err); a != "" {
		msg += " (" + a + ")"
	}
	if exitCode(err) == exitNetwork && resumable {
		msg += "; progress is saved, run the same command again to resume"
	}
	return msg
}

// printable is how every line netfox prints from what it was told (an
// error, a notice, an address) is made safe: a server's text escaped, so
// that it cannot drive the terminal, and the password of any address
// shown as ***.
func printable(s string) string {
	return safetext.Escape(redactText(s))
}

// userinfo matches the user:password@ of an address inside a text.
var userinfo = regexp.MustCompile(`(://[^/?#@\s:]*):[^/?#@\s]*@`)

// redactText hides the passwords of the addresses in s; the library
// redacts those it formats itself, this catches any other (an address
// quoted by a lower layer).
func redactText(s string) string {
	return userinfo.ReplaceAllString(s, "$1:***@")
}

// advice is what the user can do about err with the command's flags: the
// library describes the state, the command adds its flags.
func advice(err error) string {
	lone := errors.Is(err, netfox.ErrLonePart)
	switch {
	case lone && (errors.Is(err, netfox.ErrNotPartial) || errors.Is(err, netfox.ErrExists)):
		return "use --restart to discard it"
	case errors.Is(err, netfox.ErrCannotContinue) && errors.Is(err, netfox.ErrRangeNotSupported):
		return "-c needs byte ranges; use --overwrite to download the file again"
	case errors.Is(err, netfox.ErrCannotContinue):
		return "-c continues only one of them: remove the other and run again"
	case errors.Is(err, netfox.ErrNotPartial):
		return "choose another -o, or use --overwrite to replace it"
	case lone && errors.Is(err, netfox.ErrContinuable):
		return "use --restart to discard it, -c to continue it once samples of it match the server, or choose another -o"
	case lone:
		return "use --restart to discard it, or choose another -o"
	case errors.Is(err, netfox.ErrForeign):
		return "netfox uses only files it made for you, and --restart does not remove them: remove it if you trust it, or choose another -o"
	case errors.Is(err, netfox.ErrBusy):
		return "wait for it to finish, or stop it first"
	case errors.Is(err, netfox.ErrLinkRefused):
		return "get a fresh link to the same file and run again with it: the download resumes"
	case errors.Is(err, netfox.ErrNotResumable) && !errors.Is(err, context.Canceled):
		return "run again to start over"
	case errors.Is(err, netfox.ErrTooLarge):
		return "if the size is real, make room or choose another place with -d or -o"
	case errors.Is(err, netfox.ErrProtected):
		return "choose another name for the output"
	case errors.Is(err, netfox.ErrServerNamed):
		return "name the output with -o to replace it, or remove it"
	case errors.Is(err, netfox.ErrInsecureRedirect):
		return "use --allow-insecure-redirect to follow it anyway; no credentials are sent over http"
	case errors.Is(err, netfox.ErrBadState):
		return "run again with --restart to discard the partial download, or choose another -o"
	case errors.Is(err, netfox.ErrExists) && errors.Is(err, netfox.ErrContinuable):
		return "use --overwrite to replace it, or -c to continue it once samples of it match the server"
	case errors.Is(err, netfox.ErrExists):
		return "use --overwrite to replace it, or choose another -o"
	case errors.Is(err, netfox.ErrChecksum):
		return "run with --restart to download it again"
	case errors.Is(err, netfox.ErrIO) && errors.Is(err, netfox.ErrNotRegular):
		return "remove it, or choose another -o"
	case errors.Is(err, netfox.ErrDiskFull):
		return "free some space and run the same command again: the download resumes"
	case errors.Is(err, netfox.ErrIO):
		return "choose a writable place with -o"
	}
	return ""
}
