package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestPlaceOutput(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	existing := filepath.Join(tmp, "existing")
	os.Mkdir(existing, 0o755)
	abs := filepath.Join(tmp, "abs.bin")
	tests := []struct {
		dir, output string
		out, outDir string
		usage       bool
	}{
		{"", "", "", "", false},
		{"dl", "", "", "dl", false},
		{"", "f.bin", "f.bin", "", false},
		{"dl", "f.bin", "dl/f.bin", "", false},
		{"dl", "sub/f.bin", "dl/sub/f.bin", "", false},
		{"dl", abs, abs, "", false},
		{"dl", "-", "-", "", false},
		{"", "newdir/", "", "", true},
		{"dl", "newdir/", "", "", true},
		{"", existing, "", "", true},
		{tmp, "existing", "", "", true},
	}
	for _, tt := range tests {
		out, outDir, err := placeOutput(tt.dir, tt.output, "-o")
		if tt.usage {
			if !errors.As(err, new(usageError)) {
				t.Errorf("placeOutput(%q, %q): %v, want a usage error", tt.dir, tt.output, err)
			}
			continue
		}
		if err != nil || out != tt.out || outDir != tt.outDir {
			t.Errorf("placeOutput(%q, %q) = %q, %q, %v; want %q, %q", tt.dir, tt.output, out, outDir, err, tt.out, tt.outDir)
		}
	}
}

func TestWithin(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		dir, path string
		want      bool
	}{{"dl", "dl", true}, {"dl", "dl/x", true}, {"dl", "dlx", false}, {"dl", "/abs", false}, {"dl", "dl/../x", false}, {"dl", "..x", false}} {
		if got := within(tt.dir, tt.path); got != tt.want {
			t.Errorf("within(%q, %q) = %v", tt.dir, tt.path, got)
		}
	}
}
