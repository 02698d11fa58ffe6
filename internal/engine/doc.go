// Package engine is the machinery behind netfox's API: it runs one
// normalised download (a Job) with what its Client gives it (an Env), from
// the first request to the final rename. The root package is the API and
// the only importer; the layers below (siteinfo, segment, fileaccess,
// state) import nothing of it.
//
// One file per behaviour, named as a user would name it:
//
//	download.go    a download step by step (Run), and Stat
//	probe.go       the first request: length, validators, ranges, the first piece
//	resume.go      going on from a .part and its .info, or starting over
//	continue.go    taking over another program's partial file (-c)
//	complete.go    a file already there: complete, or not ours to replace
//	mirrors.go     more addresses of the same file
//	output.go      the output's files (.part, .info) and the final rename
//	checkpoint.go  saving the .info as the download goes
//	auto.go        -n auto: the count's changes and why (the log)
//	remember.go    -n auto: the count remembered per host
//	budget.go      the connections per host a Client's downloads share
//	stream.go      a download written in order to a writer
//	checksum.go    the digest checked after the last byte
//	progress.go    the live state a UI reads
//	event.go       the one stream of events
//	connections.go counting the TCP connections used
//	errors.go      the sentinels (documented by the API)
package engine
