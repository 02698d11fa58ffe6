// Package netfox downloads one file over several parallel HTTP(S) range
// requests into a single output file, and resumes an interrupted download
// where each of its segments stood, without ever mixing two versions of
// the remote file.
//
// # Use
//
//	res, err := netfox.Download(ctx, netfox.Request{
//		URL:         "https://example.com/big.iso",
//		Output:      "big.iso",
//		Connections: 8,
//	})
//
// Download probes the remote (length, ETag, Last-Modified, range support),
// splits the length into Connections ranges and fetches them in parallel
// into Output + ".part", recording each segment's progress in
// Output + ".info". On success the .part file is flushed, renamed to
// Output, and the .info removed. Cancelling ctx stops the download and
// saves its state; calling Download again with the same Request resumes
// it.
//
// # Guarantees
//
// Every range request carries If-Range with the version's strong ETag (else
// its Last-Modified), and every answer must be a 206 whose Content-Range
// is exactly the range asked for, of a file of the known length, before a
// byte of it is written. A resume re-probes the remote and starts over
// when the file changed, saying so through Request.Notify. When a
// connection finishes early it takes over the far half of the largest
// range still being fetched, so that every connection stays busy to the
// end.
//
// The .info file claims only bytes already written; see package state for
// how a crash and a power loss are told apart.
//
// A partial file another program left at Output (or Output + ".part"
// without its .info) is taken over with Request.Continue, but only after
// its last MiB, fetched again, equals the remote's; otherwise Download
// returns ErrNotPartial and leaves the file as it was.
//
// # Errors
//
// Errors wrap one of the sentinels in errors.go (ErrRemoteChanged,
// ErrBadState, ErrIO, ...) or are a *StatusError, so that callers can tell
// causes apart with errors.Is and errors.As; the CLI maps each to its own
// exit code.
package netfox
