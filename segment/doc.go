// Package segment is netfox's scheduler: it fetches the segments of a
// Table (byte ranges of one file, each with the offset it has reached)
// from an Opener into a positional writer, with one worker per
// connection (Run). With Pieces, a connection asks for its range a piece
// at a time, back to back (pieces.go). A worker that finishes takes over
// the far half of the bytes no request asked for yet, else of the
// largest range still being fetched (stealing); the last ranges,
// too small to split, are raced by a second request (hedging); a
// connection that stays far slower than the others at its steady rate
// (unless a new one proved no faster), or silent, is replaced; one
// that stalls is cut and its range retried at the byte reached; 429 and
// 503 lower the number of workers; with mirrors, workers are spread over
// them and a mirror that keeps failing is dropped. The retry policy it
// applies is package retry's; byte ranges are package byterange's.
//
// What it does is told through one hook, Fetcher.OnEvent, as typed
// Events at the one place each happens (event.go): a retry (EventRetry:
// segment, byte reached, wait, cause), a steal (EventSteal: an idle
// connection takes bytes off a busy segment), an end-game cut (EventCut:
// with pieces, a running request cut short for an idle connection), a
// hedge (EventHedge), a slow or silent connection replaced
// (EventReplace: rate, median, cause), a mirror dropped
// (EventMirrorDropped), connections lowered on overload (EventLower) and
// each step of -n auto (EventAutoStep: count, reason, rate).
//
// Every rule that depends on time (the stall watch, the slow and silence
// rules, hedges, pieces, retry waits, Auto's windows) reads and waits on
// Fetcher.Clock: the wall clock when nil, a fake one (internal/clock) in
// tests, which then set the pace of time instead of sleeping.
//
// It knows nothing of HTTP: the Opener (package siteinfo in netfox)
// checks each answer before its body reaches the fetch loop.
//
// It is part of netfox's engine, not its stable API (package netfox):
// its exported names may change between versions.
package segment
