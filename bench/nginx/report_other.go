//go:build !unix

package main

import "os"

// notifyReport does nothing: without SIGUSR1 the bytes sent are not
// reported on request (nginx, and so this tool, is for Unix benchmarks).
func notifyReport(chan<- os.Signal) {}
