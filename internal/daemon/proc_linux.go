package daemon

import "syscall"

// sysProcAttr makes the kernel kill the child if the test binary dies
// without running its cleanups (panic, go test -timeout, Ctrl-C), so that
// no stray server keeps a port or a temp dir busy.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
