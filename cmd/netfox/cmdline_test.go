package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netfox/netfox/internal/testserver"
)

// TestFlagsAnywhere: flags after the URL, between mirrors and with
// "--" work as they do before it; a URL without a scheme is http://;
// --limit-rate 0 is no limit.
func TestFlagsAnywhere(t *testing.T) {
	t.Parallel()
	data := content(200_000, 50)
	srv := testserver.New(t, data)
	noScheme := strings.TrimPrefix(srv.FileURL, "http://")
	for _, args := range [][]string{
		{"get", srv.FileURL, "-o", "out.bin", "-q"},
		{"get", "-q", srv.FileURL, "--output=out.bin", "-n", "2"},
		{"get", noScheme, "-o", "out.bin", "--limit-rate", "0", "-q"},
		{"get", "-q", "-o", "out.bin", "--", noScheme},
	} {
		dir := t.TempDir()
		stderr, code := run(t, dir, args...)
		if code != 0 || stderr != "" {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		sameFile(t, filepath.Join(dir, "out.bin"), data)
	}
}

// TestVersionAndCompletion: --version prints one line and exits 0; each
// completion script is valid for its shell (checked by the shell itself
// when installed) and names every command and flag of get.
func TestVersionAndCompletion(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(binary, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "netfox version ") || strings.Count(string(out), "\n") != 1 {
		t.Errorf("--version: %v: %q", err, out)
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		script, err := exec.Command(binary, "completion", shell).Output()
		if err != nil {
			t.Fatalf("completion %s: %v", shell, err)
		}
		for _, want := range []string{"get", "serve", "bench", "connections", "limit-rate", "input-file"} {
			if !strings.Contains(string(script), want) {
				t.Errorf("%s script lacks %q", shell, want)
			}
		}
		if _, err := exec.LookPath(shell); err != nil {
			t.Logf("%s not installed; syntax not checked", shell)
			continue
		}
		path := filepath.Join(t.TempDir(), "netfox."+shell)
		os.WriteFile(path, script, 0o644)
		if out, err := exec.Command(shell, "-n", path).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v: %s", shell, err, out)
		}
	}
	if _, err := exec.LookPath("bash"); err == nil {
		// Complete "netfox get --conn" in bash itself (--con is also --continue).
		script, _ := exec.Command(binary, "completion", "bash").Output()
		probe := string(script) + "\nCOMP_WORDS=(netfox get --conn); COMP_CWORD=2; _netfox; echo \"${COMPREPLY[@]}\"\n"
		out, err := exec.Command("bash", "-c", probe).Output()
		if err != nil || strings.TrimSpace(string(out)) != "--connections" {
			t.Errorf("bash completes --conn to %q (%v), want --connections", out, err)
		}
	}
	stderr, code := run(t, t.TempDir(), "completion", "tcsh")
	if code != exitUsage || !strings.Contains(stderr, `unknown shell "tcsh"`) {
		t.Errorf("completion tcsh: exit %d: %s", code, stderr)
	}
}
