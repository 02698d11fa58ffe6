// Package netfox downloads one file over several parallel range requests
// (HTTP, HTTPS or FTP, from one address or several mirrors of the same
// file) into a single output file, and resumes an interrupted download
// where each of its segments stood, without ever mixing two versions of
// the remote file. Stream (or Client.Stream, within a Client's budget)
// writes a file in order to an io.Writer instead, and Client.Stat asks
// about a file without downloading it.
//
// # Use
//
//	res, err := netfox.Download(ctx, netfox.Request{
//		URL:         "https://example.com/big.iso",
//		Output:      "big.iso",
//		Connections: 8,
//	})
//
// Download probes the remote with its first request, a GET from byte
// zero whose answer gives the length, ETag, Last-Modified and range
// support and whose body is the first segment; it splits the length into
// up to Connections ranges of at least MinSplit bytes and fetches them in parallel
// into Output + ".part", recording each segment's progress in
// Output + ".info". On success the .part file is flushed, renamed to
// Output, and the .info removed. Cancelling ctx stops the download and
// saves its state; calling Download again with the same Request resumes
// it.
//
// A program that downloads several files shares one Client: one HTTP
// transport and its pool of connections, a User-Agent, a budget of
// connections per host that all its downloads share, and an optional
// shared rate limit. Client.DownloadAll runs a batch, a few files at a
// time, with a result per file:
//
//	client := netfox.NewClient(netfox.ClientOptions{MaxConnectionsPerHost: 8})
//	defer client.Close()
//	results := client.DownloadAll(ctx, reqs, netfox.BatchOptions{Parallel: 4})
//
// Request.OnProgress is called every second with a Snapshot (bytes
// written, total, rate, ETA, segments) for a program to print.
//
// # Handles
//
// Client.Start starts a download and returns at once with a *Transfer:
// Pause stops it keeping its .part and .info, Resume goes on from them,
// SetLimitRate changes its cap while it runs (Client.SetLimitRate the
// shared one), Snapshot reads its state, Wait returns its Result, Done is
// closed at its end. Download is Start and Wait.
//
//	t, err := client.Start(ctx, netfox.Request{URL: u, Output: "big.iso"})
//	...
//	t.Pause()                // no byte arrives until Resume
//	t.SetLimitRate(1 << 20)  // 1 MiB/s from now on
//	t.Resume()
//	res, err := t.Wait()
//
// Request.OnEvent receives the download's events as they happen: the
// notices meant for the user (a retry, a fallback, a fresh start) and
// the scheduler's work (steals, hedges, replaced connections); see
// EventKind.
//
// # The API and the engine
//
// This package is the API: Client, Transfer, Request (normalised once,
// by Request.Normalized, at every entry point), Result, Event, Snapshot,
// Checksum, the sentinel errors, NetError and StatusError,
// the defaults (defaults.go). The machinery behind it is internal/engine
// (one file per behaviour: probe, resume, continue, complete, mirrors,
// output, checkpoint, -n auto, budget, stream), over packages that each
// do one job, none importing those above it:
//
//	byterange   the half-open Range, Split, Range and Content-Range headers
//	retry       the retry policy: permanent or not, overloaded, backoff
//	siteinfo    the protocol: probing, checked range requests, HTTP and FTP
//	segment     the scheduler: workers, stealing, hedging, mirrors, stalls
//	fileaccess  the output file: positional writes, preallocation, lock
//	state       the .info control file
//
// cmd/netfox (the command), daemon (aria2's RPC on a queue) and bench
// use this package only.
//
// # Guarantees
//
// Every range request carries If-Range with the version's strong ETag (else
// its Last-Modified), and every answer must be a 206 whose Content-Range
// is exactly the range asked for, of a file of the known length, before a
// byte of it is written. A resume re-probes the remote and starts over
// when the file changed, saying so through Request.OnEvent. When a
// connection finishes early it takes over the far half of the largest
// range still being fetched, so that every connection stays busy to the
// end.
//
// The .info file claims only bytes already written; see package state for
// how a crash and a power loss are told apart.
//
// A partial file another program left at Output (or Output + ".part"
// without its .info) is taken over with Request.Continue, but only after
// 9 windows spread over it (512 KiB in all; all of it when smaller),
// fetched again, equal the remote's; otherwise Download returns
// ErrNotPartial and leaves the file as it was.
//
// Nothing found on disk is trusted unless netfox made it for the user
// running it (a regular file of that user, one hard link, a .part that
// no one else may write; ErrForeign otherwise), and nothing a server
// claims is trusted beyond what it sent: disk is reserved as data
// arrives, a length no file can have is ErrTooLarge, redirects stop at
// 50, at a loop or at a non-http(s) target (ErrTooManyRedirects,
// ErrRedirectLoop, ErrRedirectScheme).
//
// # Errors
//
// Errors wrap one of the sentinels in errors.go (ErrRemoteChanged,
// ErrBadState, ErrIO, ...) or are a *StatusError, so that callers can tell
// causes apart with errors.Is and errors.As; the CLI maps each to its own
// exit code and adds what to do with its flags. A download ended by its
// context returns an error wrapping ctx.Err() (context.Canceled or
// context.DeadlineExceeded), whatever it was doing.
package netfox
