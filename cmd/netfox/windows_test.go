package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/nginxtest"
)

// The Windows lane: netfox built for Windows, run under Wine (which
// enforces Windows' share modes and mandatory byte-range locks) against
// the test nginx, through the everyday cases. NETFOX_WINE names the
// runner, scripts/wine.sh with its prefix set up; `make test-windows`
// sets it. Without it these tests are skipped: they belong to that lane.

// windowsBinary builds netfox.exe once, beside the Linux binary.
var windowsBinary = sync.OnceValues(func() (string, error) {
	exe := filepath.Join(filepath.Dir(binary), "netfox.exe")
	build := exec.Command("go", "build", "-o", exe, ".")
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	if err != nil {
		return "", errors.New("building netfox.exe: " + err.Error() + ": " + string(out))
	}
	return exe, nil
})

// wineCommand is netfox.exe with args under Wine, in dir.
func wineCommand(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	runner := os.Getenv("NETFOX_WINE")
	if runner == "" {
		t.Skip("NETFOX_WINE is not set: the Windows lane (make test-windows) runs this")
	}
	exe, err := windowsBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(runner, append([]string{"exec", exe}, args...)...)
	cmd.Dir = dir
	return cmd
}

// runWine runs netfox.exe to its end and returns its stdout, stderr and
// exit code.
func runWine(t *testing.T, dir string, args ...string) (stdout []byte, stderr string, code int) {
	t.Helper()
	cmd := wineCommand(t, dir, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	stderr, code = runCmd(t, cmd)
	return out.Bytes(), stderr, code
}

// listDir is the sorted names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// hostileNames are names a server may give in Content-Disposition (its
// parameter, as sent), and what netfox saves each as on every OS
// (siteinfo.Sanitize).
var hostileNames = []struct{ prefix, param, saved string }{
	{"/cd-drive/", `filename="D:evil.exe"`, "D_evil.exe"},
	{"/cd-stream/", `filename="ab:c.bin"`, "ab_c.bin"},
	{"/cd-device/", `filename="nul.txt"`, "_nul.txt"},
	{"/cd-con/", `filename="CON"`, "_CON"},
	{"/cd-dots/", `filename="a.exe. . ."`, "a.exe"},
	{"/cd-chars/", `filename="x<y>z|w?.bin"`, "x_y_z_w_.bin"},
	{"/cd-path/", `filename*=UTF-8''..%5C..%5CWindows%5Cwin.ini`, "win.ini"},
}

func TestWindows(t *testing.T) {
	t.Parallel()
	if os.Getenv("NETFOX_WINE") == "" {
		t.Skip("NETFOX_WINE is not set: the Windows lane (make test-windows) runs this")
	}
	root := t.TempDir()
	data := content(8<<20, 25)
	small := content(300_000, 26)
	os.WriteFile(filepath.Join(root, "a.bin"), data, 0o644)
	os.WriteFile(filepath.Join(root, "s.bin"), small, 0o644)
	var locations []nginxtest.Location
	for _, h := range hostileNames {
		locations = append(locations, nginxtest.Location{Prefix: h.prefix, Directives: []string{
			`add_header Content-Disposition "` + strings.ReplaceAll("attachment; "+h.param, `"`, `\"`) + `" always;`,
		}})
	}
	srv := nginxtest.Start(t, nginxtest.Options{Root: root, Locations: locations})
	url := srv.URL + "/a.bin"

	t.Run("fresh", func(t *testing.T) {
		dir := t.TempDir()
		if _, stderr, code := runWine(t, dir, "get", "-q", "-n", "4", url); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		sameFile(t, filepath.Join(dir, "a.bin"), data)
		if got := listDir(t, dir); !slices.Equal(got, []string{"a.bin"}) {
			t.Errorf("left %v, want only a.bin", got)
		}
		// The same command again: nothing to do, exit 0, file
		// untouched, where the file proves to be this download. Wine
		// keeps no alternate data streams, so no origin record (NTFS
		// does): there the plain re-run finds a file it cannot prove,
		// reports it as existing and leaves it; with the checksum as
		// proof it is the no-op.
		before, _ := os.Stat(filepath.Join(dir, "a.bin"))
		if _, stderr, code := runWine(t, dir, "get", "-q", "-n", "4", url); code != exitOK && code != exitExists {
			t.Fatalf("again: exit %d, want %d (proven) or %d (no record): %s", code, exitOK, exitExists, stderr)
		}
		if _, stderr, code := runWine(t, dir, "get", "-q", "-n", "4", "--checksum", "sha256="+sha256Hex(data), url); code != exitOK {
			t.Fatalf("again with the checksum: exit %d: %s", code, stderr)
		}
		after, _ := os.Stat(filepath.Join(dir, "a.bin"))
		if !after.ModTime().Equal(before.ModTime()) {
			t.Error("a re-run rewrote the finished file")
		}
		sameFile(t, filepath.Join(dir, "a.bin"), data)
		if got := listDir(t, dir); !slices.Equal(got, []string{"a.bin"}) {
			t.Errorf("again: left %v, want only a.bin", got)
		}
	})

	t.Run("interrupted and resumed", func(t *testing.T) {
		dir := t.TempDir()
		args := []string{"get", "-q", "-n", "4", "--limit-rate", "2MiB", url}
		// Ctrl-C keeps .part and .info; kill -9 leaves a lock that
		// Windows may release late; each run goes on from the last.
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
			started := time.Now()
			cmd := wineCommand(t, dir, args...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitForFile(t, filepath.Join(dir, "a.bin.info"), started)
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) {
				t.Fatalf("%v: the download ended before the signal: %v", sig, err)
			}
			if sig == syscall.SIGINT && exitErr.ExitCode() != exitInterrupted {
				t.Fatalf("SIGINT: exit %d, want %d", exitErr.ExitCode(), exitInterrupted)
			}
			for _, f := range []string{"a.bin.part", "a.bin.info"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Fatalf("%v: %s not kept: %v", sig, f, err)
				}
			}
		}
		_, stderr, code := runWine(t, dir, "get", "--json", "-n", "4", url)
		if code != exitOK {
			t.Fatalf("resume: exit %d: %s", code, stderr)
		}
		sameFile(t, filepath.Join(dir, "a.bin"), data)
		if got := listDir(t, dir); !slices.Equal(got, []string{"a.bin"}) {
			t.Errorf("left %v, want only a.bin", got)
		}
	})

	t.Run("checksum", func(t *testing.T) {
		dir := t.TempDir()
		_, stderr, code := runWine(t, dir, "get", "-q", "--checksum", "sha256="+strings.Repeat("0", 64), "-o", "bad.bin", url)
		if code != exitChecksum {
			t.Fatalf("a wrong checksum: exit %d, want %d: %s", code, exitChecksum, stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "bad.bin.part")); err != nil {
			t.Errorf("the data was not kept: %v", err)
		}
		if _, stderr, code := runWine(t, dir, "get", "-q", "--checksum", "sha256="+sha256Hex(data), "-o", "good.bin", url); code != exitOK {
			t.Fatalf("the right checksum: exit %d: %s", code, stderr)
		}
		sameFile(t, filepath.Join(dir, "good.bin"), data)
	})

	t.Run("overwrite", func(t *testing.T) {
		dir := t.TempDir()
		out := filepath.Join(dir, "a.bin")
		os.WriteFile(out, []byte("an older file"), 0o644)
		if _, stderr, code := runWine(t, dir, "get", "-q", url); code != exitExists {
			t.Fatalf("without --overwrite: exit %d, want %d: %s", code, exitExists, stderr)
		}
		if got, _ := os.ReadFile(out); string(got) != "an older file" {
			t.Fatal("the file was replaced without --overwrite")
		}
		// A name the server chose replaces only a file netfox
		// downloaded from there; one the user names, any regular file.
		if _, stderr, code := runWine(t, dir, "get", "-q", "--overwrite", url); code != exitExists {
			t.Fatalf("--overwrite of another's file under the server's name: exit %d, want %d: %s", code, exitExists, stderr)
		}
		if got, _ := os.ReadFile(out); string(got) != "an older file" {
			t.Fatal("a file netfox did not download was replaced under the server's name")
		}
		if _, stderr, code := runWine(t, dir, "get", "-q", "--overwrite", "-o", "a.bin", url); code != exitOK {
			t.Fatalf("--overwrite -o: exit %d: %s", code, stderr)
		}
		sameFile(t, out, data)
		if got := listDir(t, dir); !slices.Equal(got, []string{"a.bin"}) {
			t.Errorf("left %v, want only a.bin", got)
		}
	})

	t.Run("stdout", func(t *testing.T) {
		dir := t.TempDir()
		stdout, stderr, code := runWine(t, dir, "get", "-q", "-o", "-", url)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if sha256Hex(stdout) != sha256Hex(data) {
			t.Fatalf("stdout: %d bytes, sha256 %s, want %s", len(stdout), sha256Hex(stdout), sha256Hex(data))
		}
		if got := listDir(t, dir); len(got) != 0 {
			t.Errorf("-o - left %v", got)
		}
	})

	t.Run("batch", func(t *testing.T) {
		dir := t.TempDir()
		list := srv.URL + "/a.bin\n" + srv.URL + "/s.bin\n" + srv.URL + "/s.bin s2.bin\n"
		os.WriteFile(filepath.Join(dir, "list.txt"), []byte(list), 0o644)
		if _, stderr, code := runWine(t, dir, "get", "-q", "-j", "2", "-i", "list.txt"); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		sameFile(t, filepath.Join(dir, "a.bin"), data)
		sameFile(t, filepath.Join(dir, "s.bin"), small)
		sameFile(t, filepath.Join(dir, "s2.bin"), small)
		if got := listDir(t, dir); !slices.Equal(got, []string{"a.bin", "list.txt", "s.bin", "s2.bin"}) {
			t.Errorf("left %v", got)
		}
	})

	t.Run("server-given names", func(t *testing.T) {
		dir := t.TempDir()
		var want []string
		for _, h := range hostileNames {
			if _, stderr, code := runWine(t, dir, "get", "-q", srv.URL+h.prefix+"s.bin"); code != exitOK {
				t.Fatalf("%s: exit %d: %s", h.param, code, stderr)
			}
			sameFile(t, filepath.Join(dir, h.saved), small)
			want = append(want, h.saved)
		}
		slices.Sort(want)
		if got := listDir(t, dir); !slices.Equal(got, want) {
			t.Errorf("saved %q, want %q", got, want)
		}
	})
}
