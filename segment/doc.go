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
// It knows nothing of HTTP: the Opener (package siteinfo in netfox)
// checks each answer before its body reaches the fetch loop.
//
// It is part of netfox's engine, not its stable API (package netfox):
// its exported names may change between versions.
package segment
