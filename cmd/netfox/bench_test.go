package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netfox/netfox/bench"
)

// TestBenchJSONAndPlot runs `netfox bench --json --plot` against a capped
// local server: the JSON holds every run in the documented shape, and the
// SVG is well-formed with one point per connection count.
func TestBenchJSONAndPlot(t *testing.T) {
	local, err := bench.StartLocal(bench.LocalOptions{Size: 512 << 10, RatePerConn: 2 << 20, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	dir := t.TempDir()
	svg := filepath.Join(dir, "chart.svg")
	cmd := exec.Command(binary, "bench", "--json", "--connections", "1,2,4", "--repeat", "2", "--plot", svg, local.URL)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	var doc struct {
		URL  string `json:"url"`
		Runs []struct {
			Connections int     `json:"connections"`
			Repeat      int     `json:"repeat"`
			Bytes       int64   `json:"bytes"`
			Seconds     float64 `json:"seconds"`
			MiBPerS     float64 `json:"mib_per_s"`
		} `json:"runs"`
		Recommended int `json:"recommended"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if doc.URL != local.URL || len(doc.Runs) != 6 || doc.Recommended == 0 {
		t.Fatalf("JSON %+v", doc)
	}
	for _, r := range doc.Runs {
		if r.Bytes != 512<<10 || r.Seconds <= 0 || r.MiBPerS <= 0 || r.Repeat < 1 {
			t.Errorf("run %+v", r)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}

	f, err := os.Open(svg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	circles := 0
	dec := xml.NewDecoder(f)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if el, ok := tok.(xml.StartElement); ok && el.Name.Local == "path" {
			for _, a := range el.Attr {
				// The point glyphs are circles drawn as two arcs.
				if a.Name.Local == "d" && strings.Count(a.Value, "A") == 2 {
					circles++
				}
			}
		}
	}
	// One glyph per count, plus the one in the legend.
	if circles != 3+1 {
		t.Errorf("SVG has %d point glyphs, want 3 points and 1 legend glyph", circles)
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--connections", "1,x"},
		{"bench", "--connections", "0"},
		{"bench", "--repeat", "0"},
		{"bench", "--bytes", "lots"},
	} {
		stderr, code := run(t, t.TempDir(), args...)
		if code != exitUsage || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}
