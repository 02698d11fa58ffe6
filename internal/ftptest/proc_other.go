//go:build !linux

package ftptest

import (
	"time"
)

// killSessions: without /proc, session processes cannot be found; they exit
// when their clients disconnect.
func killSessions(bin, conf string, grace time.Duration) error { return nil }

// sessionPids: without /proc, processes cannot be listed.
func sessionPids(want []byte) []int { return nil }
