package nginxtest

import "syscall"

// sysProcAttr makes the kernel kill nginx if the test binary dies without
// running its cleanups (panic, go test -timeout, Ctrl-C), so no stray nginx
// keeps the port or the temp dir busy. This covers everything because nginx
// runs as a single process (master_process off).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
