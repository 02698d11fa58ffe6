package daemon

import (
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is a started child program.
type Process struct {
	Cmd *exec.Cmd

	exited chan struct{} // closed when Cmd.Wait returns
	err    error         // Cmd.Wait's result, valid once exited is closed

	stopOnce sync.Once
	stopErr  error
}

// Launch starts cmd, tied to this process's life where the system allows
// (see sysProcAttr), and waits for it in the background.
func Launch(cmd *exec.Cmd) (*Process, error) {
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{Cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Exited is closed when the child has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err is the child's exit status; valid once Exited is closed.
func (p *Process) Err() error { return p.err }

// Stop sends sig, waits up to grace for the child to exit, then kills it.
// It reports as errors a child that had already exited, one that needed
// the kill, and, when cleanExit is set, a non-zero exit after sig. Only
// the first call acts; later ones return its result.
func (p *Process) Stop(name string, sig syscall.Signal, grace time.Duration, cleanExit bool) error {
	p.stopOnce.Do(func() {
		select {
		case <-p.exited:
			p.stopErr = fmt.Errorf("%s exited unexpectedly: %v", name, p.err)
			return
		default:
		}
		// Signal fails only if the process is gone; then the kill below
		// finds it gone too.
		if err := p.Cmd.Process.Signal(sig); err == nil {
			select {
			case <-p.exited:
				if cleanExit && p.err != nil {
					p.stopErr = fmt.Errorf("%s exit after %v: %v", name, sig, p.err)
				}
				return
			case <-time.After(grace):
			}
		}
		p.Cmd.Process.Kill()
		<-p.exited
		p.stopErr = fmt.Errorf("%s did not exit within %v of %v; killed", name, grace, sig)
	})
	return p.stopErr
}
