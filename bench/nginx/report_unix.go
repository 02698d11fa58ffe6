//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyReport relays SIGUSR1, the request for the bytes sent so far.
func notifyReport(c chan<- os.Signal) { signal.Notify(c, syscall.SIGUSR1) }
