//go:build !linux

package ftptest

import (
	"syscall"
	"time"
)

// sysProcAttr: only Linux can tie the child's life to ours (Pdeathsig);
// elsewhere a vsftpd can outlive a crashed test binary.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killSessions: without /proc, session processes cannot be found; they exit
// when their clients disconnect.
func killSessions(bin, conf string, grace time.Duration) error { return nil }

// sessionPids: without /proc, processes cannot be listed.
func sessionPids(want []byte) []int { return nil }
