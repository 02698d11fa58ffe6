// Package daemon holds what the test harnesses that run a real server
// program as a child process (internal/nginxtest, internal/ftptest) share:
// one start, ready and stop (Start with a Spec: a private directory, a
// free loopback port, retried when lost, a wait until the program answers
// as itself, its logs), finding the program, and tying the child to a
// test's life (Started).
package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Find reports the path of the program name, or "" when absent. It looks
// in PATH first and then in /usr/sbin, which is often not in PATH.
func Find(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	fallback := filepath.Join("/usr/sbin", name)
	if fi, err := os.Stat(fallback); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
		return fallback
	}
	return ""
}

// FreePort asks the kernel for an unused loopback port. The listener is
// closed before the child binds it, so callers retry on a lost race.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ReadLogs concatenates the named files of dir, each under a "--- name"
// line, keeping the last maxLines lines of each (0 for all); "(empty)"
// when there is nothing.
func ReadLogs(dir string, maxLines int, names ...string) string {
	var b bytes.Buffer
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		if lines := bytes.SplitAfter(data, []byte("\n")); maxLines > 0 && len(lines) > maxLines+1 {
			fmt.Fprintf(&b, "--- %s (last %d lines)\n", name, maxLines)
			data = bytes.Join(lines[len(lines)-maxLines-1:], nil)
		} else {
			fmt.Fprintf(&b, "--- %s\n", name)
		}
		b.Write(data)
		if !bytes.HasSuffix(data, []byte("\n")) {
			b.WriteByte('\n')
		}
	}
	if b.Len() == 0 {
		return "(empty)\n"
	}
	return b.String()
}

// Root checks the directory a harness serves (Options.Root) and returns
// it absolute.
func Root(harness, root string) (string, error) {
	if root == "" {
		return "", fmt.Errorf("%s: Options.Root is required", harness)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("%s: %w", harness, err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("%s: %w", harness, err)
	} else if !fi.IsDir() {
		return "", fmt.Errorf("%s: Options.Root %s is not a directory", harness, abs)
	}
	return abs, nil
}

// Child is a running server a harness started in a private directory.
type Child interface {
	// Stop stops the server; it is safe to call more than once.
	Stop() error
	// Logs returns its logs for a failed test.
	Logs() string
	// Dir is its private directory, removed after it stops.
	Dir() string
}

// Unavailable is the error of a harness whose server cannot run on this
// machine: the program is not installed, or needs root. It says what is
// missing and how to install it.
type Unavailable string

func (u Unavailable) Error() string { return string(u) }

// Started ends a harness's Start: a server that cannot run here
// (Unavailable) skips the test, or fails it under RequireEnv (Missing);
// another error fails it; a running server is attached to the test.
func Started(t testing.TB, prefix string, c Child, err error) {
	t.Helper()
	var u Unavailable
	if errors.As(err, &u) {
		Missing(t, string(u))
	}
	if err != nil {
		t.Fatalf("%s: %v", prefix, err)
	}
	Attach(t, prefix, c)
}

// Attach stops c and removes its directory when the test ends, logging
// its logs first if the test failed. prefix names the harness in messages.
func Attach(t testing.TB, prefix string, c Child) {
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("%s: %v", prefix, err)
		}
		if t.Failed() {
			t.Logf("%s: logs:\n%s", prefix, c.Logs())
		}
		os.RemoveAll(c.Dir())
	})
}

// Stopper returns a function that stops c and removes its directory, for
// callers without a testing.TB (bench scripts and commands).
func Stopper(c Child) func() error {
	return func() error {
		err := c.Stop()
		if rerr := os.RemoveAll(c.Dir()); err == nil {
			err = rerr
		}
		return err
	}
}

// RequireEnv names the environment variable that turns a missing server
// program from a skipped test into a failed one. `make test` (and so CI)
// sets it: a server the suite needs must not go missing unnoticed.
const RequireEnv = "NETFOX_REQUIRE_SERVERS"

// Missing ends a test that cannot run without a server program: it fails
// when RequireEnv is set to 1, and is skipped otherwise (a developer's
// machine without nginx or vsftpd). why says what is missing and how to
// install it.
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s (%s=1: the servers are required)", why, RequireEnv)
	}
	t.Skip(why + "; skipping")
}
