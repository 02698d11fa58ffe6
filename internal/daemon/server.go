package daemon

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// readyTimeout bounds how long one start attempt waits for the
	// server to be ready. It must exceed nginx's own bind retry loop (5
	// tries, 500 ms apart) so that a lost port race is reported as a
	// bind failure (and retried) rather than as a timeout.
	readyTimeout = 5 * time.Second
	readyPoll    = 10 * time.Millisecond
	// bindAttempts is how many fresh ports are tried; the port is picked
	// by binding :0 and closing, so another process can grab it in
	// between.
	bindAttempts = 5
)

// Spec says how to run one server program: what Start needs to know of
// nginx or vsftpd. Start does the rest, the same for both.
type Spec struct {
	// Harness names the harness in messages and in the name of the
	// private directory ("nginxtest"); Program names the server
	// ("nginx").
	Harness, Program string
	// Prepare, when set, readies the new private directory once, before
	// the first attempt.
	Prepare func(dir string) error
	// Command writes the configuration of a server on 127.0.0.1:port
	// into dir and returns the command that runs it in the foreground;
	// it is called once per attempt.
	Command func(dir string, port int) (*exec.Cmd, error)
	// Output is the file in dir that gets the program's stdout and
	// stderr; with OutputIsStdin it is its stdin too, opened read-write
	// (vsftpd writes fatal errors to fd 0).
	Output        string
	OutputIsStdin bool
	// Logs are the files in dir that Logs shows after Output, each cut
	// to its last LogLines lines (0: all). Output and Logs are removed
	// before each attempt, so that errors are attributable.
	Logs     []string
	LogLines int
	// Ready reports whether s answers as itself: a TCP connect alone is
	// no proof, since another process may have grabbed the port.
	Ready func(s *Server) bool
	// BindFailed is what the logs say when the port was taken; the
	// attempt is then retried on another port.
	BindFailed string
	// StopSignal asks the program to exit; it gets StopGrace before a
	// SIGKILL. With CleanExit, a non-zero exit after StopSignal is an
	// error.
	StopSignal syscall.Signal
	StopGrace  time.Duration
	CleanExit  bool
	// AfterStop, when set, runs after each Stop (vsftpd's sessions
	// outlive the listener).
	AfterStop func() error
}

// Server is a server program Start started: a child process with a
// private directory. It is a Child.
type Server struct {
	spec Spec
	dir  string
	port int
	proc *Process
}

// Start makes a private directory and runs spec's program in it on a
// free loopback port, retrying on another port when it lost the race for
// one, and returns once the program is ready.
func Start(spec Spec) (*Server, error) {
	dir, err := os.MkdirTemp("", spec.Harness+"-")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Harness, err)
	}
	if spec.Prepare != nil {
		if err := spec.Prepare(dir); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	for attempt := 1; ; attempt++ {
		s, err := startOnce(spec, dir)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errBind) || attempt == bindAttempts {
			os.RemoveAll(dir)
			if errors.Is(err, errBind) {
				err = fmt.Errorf("%w (gave up after %d ports)", err, bindAttempts)
			}
			return nil, err
		}
	}
}

// errBind marks a start attempt that lost the race for its port.
var errBind = errors.New("port already in use")

func startOnce(spec Spec, dir string) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, fmt.Errorf("%s: picking a port: %w", spec.Harness, err)
	}
	for _, name := range append([]string{spec.Output}, spec.Logs...) {
		os.Remove(filepath.Join(dir, name))
	}
	cmd, err := spec.Command(dir, port)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Harness, err)
	}
	// A file rather than pipes: no copy goroutines, and it survives for
	// diagnostics.
	out, err := os.OpenFile(filepath.Join(dir, spec.Output), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Harness, err)
	}
	defer out.Close() // the child holds its own copy
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	if spec.OutputIsStdin {
		cmd.Stdin = out
	}
	proc, err := Launch(cmd)
	if err != nil {
		return nil, fmt.Errorf("%s: starting %s: %w", spec.Harness, cmd.Path, err)
	}
	s := &Server{spec: spec, dir: dir, port: port, proc: proc}
	if err := s.waitReady(); err != nil {
		s.Stop()
		logs := s.Logs()
		if strings.Contains(logs, spec.BindFailed) {
			return nil, fmt.Errorf("%s: port %d: %w", spec.Harness, port, errBind)
		}
		return nil, fmt.Errorf("%s: %v\n%s logs:\n%s", spec.Harness, err, spec.Program, logs)
	}
	return s, nil
}

// waitReady polls until spec.Ready holds, the program exits or
// readyTimeout passes.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-s.proc.Exited():
			return fmt.Errorf("%s exited during startup: %v", s.spec.Program, s.proc.Err())
		default:
		}
		if s.spec.Ready(s) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready on %s after %v", s.spec.Program, s.Addr(), readyTimeout)
		}
		time.Sleep(readyPoll)
	}
}

// Port is the loopback port the server listens on; Addr is its address,
// 127.0.0.1:Port.
func (s *Server) Port() int { return s.port }

// Addr is the server's address, 127.0.0.1:Port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Pid is the server process's id.
func (s *Server) Pid() int { return s.proc.Cmd.Process.Pid }

// Dir is the server's private directory.
func (s *Server) Dir() string { return s.dir }

// Stop asks the server to exit, escalating to SIGKILL, waits for it and
// runs spec.AfterStop. It reports an early exit or a needed SIGKILL as
// an error; only the first call signals.
func (s *Server) Stop() error {
	err := s.proc.Stop(s.spec.Program, s.spec.StopSignal, s.spec.StopGrace, s.spec.CleanExit)
	if s.spec.AfterStop != nil {
		if aerr := s.spec.AfterStop(); err == nil {
			err = aerr
		}
	}
	return err
}

// Logs returns the program's output and logs, for a failed test.
func (s *Server) Logs() string {
	return ReadLogs(s.dir, s.spec.LogLines, append([]string{s.spec.Output}, s.spec.Logs...)...)
}
