package fileaccess

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netfox/netfox/internal/testdir"
)

// An attribute set on a file is read back, also after the file is
// renamed, and a missing one reads as "". A file system without
// attributes (ErrNoXattr) is skipped: there is nothing to read back.
func TestXattrRoundTrip(t *testing.T) {
	dir := testdir.New(t)
	path := filepath.Join(dir, "f.part")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	url := "https://example.com/f.iso"
	if err := f.SetXattr("user.xdg.origin.url", url); errors.Is(err, ErrNoXattr) {
		f.Close()
		t.Skipf("%s keeps no extended attributes", dir)
	} else if err != nil {
		t.Fatal(err)
	}
	if err := f.SetXattr("user.netfox.etag", `"v1"`); err != nil {
		t.Fatal(err)
	}
	if err := RenameNoReplace(path, filepath.Join(dir, "f")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	g, err := os.Open(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for name, want := range map[string]string{"user.xdg.origin.url": url, "user.netfox.etag": `"v1"`, "user.missing": ""} {
		if got, err := Xattr(g, name); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
	}
	// The file's data is not the attributes'.
	if data, _ := os.ReadFile(filepath.Join(dir, "f")); len(data) != 0 {
		t.Errorf("the file holds %q", data)
	}
	if names, _ := os.ReadDir(dir); len(names) != 1 || strings.Contains(names[0].Name(), ":") {
		t.Errorf("directory holds %v, want only f", names)
	}
}
