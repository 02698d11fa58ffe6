package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	pngpkg "image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/netfox/netfox/bench"
)

// TestBenchJSONAndPlot runs `netfox bench --json --plot` against a capped
// local server: the JSON holds every run in the documented shape, and the
// SVG is well-formed with one point per connection count.
func TestBenchJSONAndPlot(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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

// TestBenchInTmux: on a terminal the progress bar names the count being
// run, and ends before the table, which keeps its recommendation line.
func TestBenchInTmux(t *testing.T) {
	t.Parallel()
	local, err := bench.StartLocal(bench.LocalOptions{Size: 1 << 20, RatePerConn: 1 << 20, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	tmux := tmuxSession(t, binary+" bench --connections 1,2,4 --repeat 2 "+local.URL+"; echo EXIT=$?; sleep 60", 100, 30)
	var during string
	poll(t, func() bool {
		during = tmux("capture-pane", "-p", "-t", "t")
		return regexp.MustCompile(`bench .*\d / 6 runs.*running -n [124] \([12] of 2\)`).MatchString(during)
	})
	t.Logf("screen while benchmarking:\n%s", strings.TrimRight(during, "\n"))
	var after string
	poll(t, func() bool {
		after = tmux("capture-pane", "-p", "-t", "t")
		return strings.Contains(after, "EXIT=")
	})
	t.Logf("screen at the end:\n%s", strings.TrimRight(after, "\n"))
	lines := strings.Split(strings.TrimRight(after, "\n"), "\n")
	rows := regexp.MustCompile(`^\s+[124]\s+\d+\.\d\d\s+\d+\.\d\d\s+\d+\.\d\d\s+\d+\.\d\dx\s*$`)
	nRows, rec := 0, false
	for _, l := range lines {
		nRows += len(rows.FindAllString(l, -1))
		rec = rec || regexp.MustCompile(`^recommended: -n [124] \(`).MatchString(l)
	}
	if !strings.Contains(after, "EXIT=0") || nRows != 3 || !rec {
		t.Errorf("%d whole table rows, recommendation line %v", nRows, rec)
	}
}

// TestBenchPlot: --plot into a missing directory fails at once, before
// any run; a PNG is at least 1200 px wide.
func TestBenchPlot(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stderr, code := run(t, dir, "bench", "--plot", filepath.Join(dir, "missing", "chart.png"), "http://127.0.0.1:1/never-fetched")
	if code != exitUsage || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	local, err := bench.StartLocal(bench.LocalOptions{Size: 256 << 10, RatePerConn: 4 << 20, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	png := filepath.Join(dir, "chart.png")
	if stderr, code := run(t, dir, "bench", "-q", "--connections", "1,2", "--repeat", "1", "--plot", png, local.URL); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f, err := os.Open(png)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := pngpkg.DecodeConfig(f)
	if err != nil || cfg.Width < 1200 {
		t.Errorf("PNG %dx%d, %v", cfg.Width, cfg.Height, err)
	}
}
