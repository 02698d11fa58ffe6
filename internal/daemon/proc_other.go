//go:build !linux

package daemon

import "syscall"

// sysProcAttr: only Linux can tie the child's life to ours (Pdeathsig);
// elsewhere a server can outlive a crashed test binary.
func sysProcAttr() *syscall.SysProcAttr { return nil }
