package ftptest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// killSessions SIGKILLs every process running "bin conf" (vsftpd's session
// processes keep the listener's command line, and conf is unique to one
// Server) and waits up to grace for them to be gone. Sessions call setsid
// and outlive the listener, so neither a process group nor Pdeathsig reaches
// them. Zombies count as gone: they are no longer children of ours, and
// init reaps them.
func killSessions(bin, conf string, grace time.Duration) error {
	want := []byte(bin + "\x00" + conf + "\x00")
	deadline := time.Now().Add(grace)
	// Rescan until none is left: this waits for the killed ones to die and
	// also catches a process forked while the previous scan ran.
	for {
		pids := sessionPids(want)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vsftpd session processes %v still running %v after SIGKILL", pids, grace)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sessionPids lists the live processes whose NUL-separated command line is
// exactly want.
func sessionPids(want []byte) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && isSession(pid, want) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// isSession reports whether pid is alive (not a zombie) with command line
// want. Checking the command line, not just the pid, keeps a recycled pid
// from being mistaken for a session.
func isSession(pid int, want []byte) bool {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil || !bytes.Equal(cmdline, want) {
		return false
	}
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return false
	}
	// Format: pid (comm) state ...; comm may contain spaces and parens.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return false
	}
	return stat[i+2] != 'Z' && stat[i+2] != 'X'
}
