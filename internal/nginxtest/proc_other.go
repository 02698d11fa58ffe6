//go:build !linux

package nginxtest

import "syscall"

// sysProcAttr: only Linux can tie the child's life to ours (Pdeathsig);
// elsewhere an nginx can outlive a crashed test binary.
func sysProcAttr() *syscall.SysProcAttr { return nil }
