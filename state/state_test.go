package state

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/netfox/netfox/internal/testdir"
)

// sampleState is a valid State with every field set.
func sampleState() State {
	return State{
		URL:          "https://example.com/files/debian.iso?token=a%20b",
		FinalURL:     "https://mirror.example.net/debian.iso",
		Length:       100 << 20,
		ETag:         `"5f1-abc"`,
		LastModified: "Mon, 02 Jan 2006 15:04:05 GMT",
		BootID:       "0d4a0b2e-6f1c-4c43-9f4e-1b2c3d4e5f60",
		Segments: []Segment{
			{Start: 0, Next: 10 << 20, Synced: 8 << 20, End: 25 << 20},
			{Start: 25 << 20, Next: 25 << 20, Synced: 25 << 20, End: 50 << 20},
			{Start: 50 << 20, Next: 75 << 20, Synced: 75 << 20, End: 75 << 20},
			{Start: 75 << 20, Next: 99 << 20, Synced: 80 << 20, End: 100 << 20},
		},
	}
}

// statesEqual treats nil and empty segment lists as equal.
func statesEqual(a, b State) bool {
	if len(a.Segments) == 0 && len(b.Segments) == 0 {
		a.Segments, b.Segments = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

// encodeBody builds a .info file around an arbitrary JSON body, with a
// correct checksum, bypassing Encode.
func encodeBody(version, body string) []byte {
	return fmt.Appendf(nil, "%s %s\n%s\ncrc32c %08x\n", magic, version, body,
		crc32.Checksum([]byte(body), crc32.MakeTable(crc32.Castagnoli)))
}

func mustEncode(t testing.TB, s State) []byte {
	t.Helper()
	data, err := Encode(s)
	if err != nil {
		t.Fatalf("Encode(%+v): %v", s, err)
	}
	return data
}

func TestEncodeFormat(t *testing.T) {
	data := mustEncode(t, sampleState())
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) != 4 || lines[3] != "" {
		t.Fatalf("Encode produced %d newline-terminated parts, want 3:\n%s", len(lines)-1, data)
	}
	if lines[0] != "netfox-info 1\n" {
		t.Errorf("header = %q, want %q", lines[0], "netfox-info 1\n")
	}
	body := strings.TrimSuffix(lines[1], "\n")
	if want := fmt.Sprintf("crc32c %08x\n", crc32.Checksum([]byte(body), crc32.MakeTable(crc32.Castagnoli))); lines[2] != want {
		t.Errorf("trailer = %q, want %q", lines[2], want)
	}
	if !strings.HasPrefix(body, "{") || !strings.HasSuffix(body, "}") {
		t.Errorf("body %q is not a JSON object", body)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		s    State
	}{
		{"full", sampleState()},
		{"minimal", State{URL: "http://h/f"}},
		{"no segments, empty file", State{URL: "http://h/f", Length: 0, Segments: []Segment{}}},
		{"zero length file", State{URL: "http://h/f", Length: 0, Segments: []Segment{{0, 0, 0, 0}}}},
		{"one segment done", State{URL: "http://h/f", Length: 10, Segments: []Segment{{0, 10, 10, 10}}}},
		{"segments tiling the file", State{URL: "http://h/f", Length: 100, Segments: []Segment{{0, 20, 15, 30}, {30, 30, 30, 60}, {60, 60, 60, 100}}}},
		{"empty segments at one offset", State{URL: "http://h/f", Length: 20, Segments: []Segment{{0, 0, 0, 10}, {10, 10, 10, 10}, {10, 10, 10, 10}, {10, 20, 20, 20}}}},
		{"largest length", State{URL: "http://h/f", Length: 1<<63 - 1, Segments: []Segment{{0, 1<<63 - 1, 1<<63 - 1, 1<<63 - 1}}}},
		{"newlines and quotes in strings", State{
			URL:          "http://h/a\nb\"c\\d",
			ETag:         "W/\"x\ny\"",
			LastModified: "\r\n\t\x00",
			BootID:       "\u2028\u2029",
		}},
		{"unicode", State{URL: "http://h/naïve-日本語.txt", FinalURL: "http://h/😀"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := mustEncode(t, tt.s)
			if n := bytes.Count(data, []byte("\n")); n != 3 {
				t.Errorf("encoding has %d newlines, want 3:\n%q", n, data)
			}
			got, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode(Encode(s)): %v\n%s", err, data)
			}
			if !statesEqual(got, tt.s) {
				t.Errorf("Decode(Encode(s)) = %+v, want %+v", got, tt.s)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	valid := mustEncode(t, sampleState())
	_, rest, _ := bytes.Cut(valid, []byte("\n"))
	withHeader := func(h string) []byte { return append([]byte(h+"\n"), rest...) }
	withSegments := func(length int64, segs ...Segment) []byte {
		s := sampleState()
		s.Length = length
		s.Segments = segs
		return mustEncode(t, s) // Encode does not check the segments
	}

	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotInfo},
		{"newline", []byte("\n"), ErrNotInfo},
		{"random text", []byte("hello, world\nthis is not it\n"), ErrNotInfo},
		{"binary", []byte{0x1f, 0x8b, 0x08, 0x00, 0xff, 0x00, '\n'}, ErrNotInfo},
		{"JSON only", []byte(`{"url":"http://h/f","segments":[]}`), ErrNotInfo},
		{"magic in upper case", withHeader("NETFOX-INFO 1"), ErrNotInfo},
		{"magic with a suffix", withHeader("netfox-infox 1"), ErrNotInfo},
		{"leading space", withHeader(" netfox-info 1"), ErrNotInfo},
		{"BOM", withHeader("\ufeffnetfox-info 1"), ErrNotInfo},

		{"version 2", withHeader("netfox-info 2"), ErrVersion},
		{"version 10", withHeader("netfox-info 10"), ErrVersion},
		{"huge version", withHeader("netfox-info 9223372036854775807"), ErrVersion},
		{"version 0", withHeader("netfox-info 0"), ErrCorrupt},
		{"negative version", withHeader("netfox-info -1"), ErrCorrupt},
		{"no version", withHeader("netfox-info"), ErrCorrupt},
		{"empty version", withHeader("netfox-info "), ErrCorrupt},
		{"text version", withHeader("netfox-info one"), ErrCorrupt},
		{"version overflow", withHeader("netfox-info 99999999999999999999"), ErrCorrupt},
		{"CRLF header", withHeader("netfox-info 1\r"), ErrCorrupt},
		{"header only", []byte("netfox-info 1\n"), ErrCorrupt},
		{"header without newline", []byte("netfox-info 1"), ErrCorrupt},

		{"no checksum", []byte("netfox-info 1\n{\"url\":\"x\"}\n"), ErrCorrupt},
		{"checksum of other data", append([]byte("netfox-info 1\n{\"url\":\"y\"}\n"), encodeBody("1", `{"url":"x"}`)[len("netfox-info 1\n{\"url\":\"x\"}\n"):]...), ErrCorrupt},
		{"trailing garbage", append(bytes.Clone(valid), "more\n"...), ErrCorrupt},
		{"trailing newline", append(bytes.Clone(valid), '\n'), ErrCorrupt},
		{"wrong checksum", bytes.Replace(bytes.Clone(valid), []byte("crc32c "), []byte("crc32c 0"), 1), ErrCorrupt},
		{"invalid JSON with a valid checksum", encodeBody("1", `{"url":`), ErrCorrupt},
		{"JSON array", encodeBody("1", `[1,2,3]`), ErrCorrupt},
		{"JSON null", encodeBody("1", `null`), ErrCorrupt},
		{"wrong type", encodeBody("1", `{"url":"http://h/f","length":"10"}`), ErrCorrupt},
		{"fractional offset", encodeBody("1", `{"url":"http://h/f","length":10.5}`), ErrCorrupt},
		{"offset overflow", encodeBody("1", `{"url":"http://h/f","length":9223372036854775808}`), ErrCorrupt},
		{"no URL", encodeBody("1", `{"length":10,"segments":[]}`), ErrCorrupt},
		{"negative length", encodeBody("1", `{"url":"http://h/f","length":-1}`), ErrCorrupt},

		{"gap between segments", withSegments(100, Segment{0, 10, 10, 50}, Segment{60, 60, 60, 100}), ErrCorrupt},
		{"gap at the start", withSegments(100, Segment{10, 10, 10, 100}), ErrCorrupt},
		{"gap at the end", withSegments(100, Segment{0, 10, 10, 90}), ErrCorrupt},
		{"no segments for a non-empty file", withSegments(100), ErrCorrupt},
		{"segments overlapping", withSegments(100, Segment{0, 10, 10, 60}, Segment{50, 50, 50, 100}), ErrCorrupt},
		{"segments out of order", withSegments(100, Segment{50, 50, 50, 100}, Segment{0, 10, 10, 50}), ErrCorrupt},
		{"next below synced", withSegments(100, Segment{0, 10, 20, 100}), ErrCorrupt},
		{"synced below start", withSegments(100, Segment{10, 20, 5, 100}), ErrCorrupt},
		{"next beyond end", withSegments(100, Segment{0, 60, 10, 50}), ErrCorrupt},
		{"end beyond length", withSegments(100, Segment{0, 10, 10, 101}), ErrCorrupt},
		{"start beyond end", withSegments(100, Segment{60, 60, 60, 50}), ErrCorrupt},
		{"negative start", withSegments(100, Segment{-10, 0, 0, 50}), ErrCorrupt},
		{"second segment bad", withSegments(100, Segment{0, 10, 10, 50}, Segment{50, 40, 40, 100}), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Decode(tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode(%q) = %+v, %v; want error %v", tt.data, s, err, tt.want)
			}
			if !statesEqual(s, State{}) {
				t.Errorf("Decode returned %+v with its error, want the zero State", s)
			}
		})
	}
}

// TestDecodeTruncated checks every proper prefix of a valid encoding: a
// prefix of the magic is not ours, anything longer is a damaged file.
func TestDecodeTruncated(t *testing.T) {
	data := mustEncode(t, sampleState())
	for i := range len(data) {
		want := ErrCorrupt
		if i < len(magic) {
			want = ErrNotInfo
		}
		s, err := Decode(data[:i])
		if !errors.Is(err, want) {
			t.Errorf("Decode of the first %d of %d bytes = %+v, %v; want error %v", i, len(data), s, err, want)
		}
	}
}

// TestDecodeFlippedByte checks that changing any one byte of the JSON line
// or the checksum line is caught.
func TestDecodeFlippedByte(t *testing.T) {
	data := mustEncode(t, sampleState())
	bodyStart := bytes.IndexByte(data, '\n') + 1
	for _, mask := range []byte{0x01, 0x20, 0x80, 0xff} {
		t.Run(fmt.Sprintf("mask=%#02x", mask), func(t *testing.T) {
			for i := bodyStart; i < len(data)-1; i++ {
				damaged := bytes.Clone(data)
				damaged[i] ^= mask
				if s, err := Decode(damaged); !errors.Is(err, ErrCorrupt) {
					t.Errorf("Decode with byte %d (%q) changed to %q = %+v, %v; want error %v",
						i, data[i], damaged[i], s, err, ErrCorrupt)
				}
			}
		})
	}
}

func TestSaveLoad(t *testing.T) {
	for _, durable := range []bool{false, true} {
		t.Run(fmt.Sprintf("durable=%v", durable), func(t *testing.T) {
			dir := testdir.New(t)
			path := filepath.Join(dir, "debian.iso.info")
			s := sampleState()
			if err := Save(path, s, durable); err != nil {
				t.Fatalf("Save: %v", err)
			}
			got, err := Load(path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !statesEqual(got, s) {
				t.Errorf("Load = %+v, want %+v", got, s)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := mustEncode(t, s); !bytes.Equal(data, want) {
				t.Errorf("file holds %q, want Encode's %q", data, want)
			}

			// Overwrite with a newer state.
			s.Segments[0].Next = s.Segments[0].End
			if err := Save(path, s, durable); err != nil {
				t.Fatalf("second Save: %v", err)
			}
			if got, err = Load(path); err != nil || !statesEqual(got, s) {
				t.Errorf("Load after second Save = %+v, %v; want %+v", got, err, s)
			}
			checkDirHolds(t, dir, "debian.iso.info")
		})
	}
}

// checkDirHolds verifies that dir contains exactly the named entries, so
// that no temporary file was left behind.
func checkDirHolds(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !reflect.DeepEqual(got, names) {
		t.Errorf("directory holds %q, want %q", got, names)
	}
}

// TestSaveBareName saves to a path without a directory, as a download
// into the working directory does. The temporary file must be created in
// the working directory too: a temporary file elsewhere (such as $TMPDIR,
// often another file system) cannot be renamed over the target.
func TestSaveBareName(t *testing.T) {
	for _, durable := range []bool{false, true} {
		t.Run(fmt.Sprintf("durable=%v", durable), func(t *testing.T) {
			dir := testdir.New(t)
			t.Chdir(dir)
			// A $TMPDIR that does not exist makes any use of it fail.
			t.Setenv("TMPDIR", filepath.Join(dir, "no-such-tmpdir"))
			if err := Save("f.info", sampleState(), durable); err != nil {
				t.Fatalf("Save(%q): %v", "f.info", err)
			}
			if _, err := Load("f.info"); err != nil {
				t.Fatalf("Load: %v", err)
			}
			checkDirHolds(t, dir, "f.info")
		})
	}
}

func TestSaveFailureLeavesNoTemp(t *testing.T) {
	t.Run("missing directory", func(t *testing.T) {
		dir := testdir.New(t)
		path := filepath.Join(dir, "missing", "f.info")
		if err := Save(path, sampleState(), false); err == nil {
			t.Fatal("Save into a missing directory succeeded")
		}
		checkDirHolds(t, dir)
	})
	t.Run("rename over a directory", func(t *testing.T) {
		dir := testdir.New(t)
		path := filepath.Join(dir, "f.info")
		if err := os.Mkdir(path, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, durable := range []bool{false, true} {
			if err := Save(path, sampleState(), durable); err == nil {
				t.Fatalf("Save(durable=%v) over a directory succeeded", durable)
			}
		}
		checkDirHolds(t, dir, "f.info")
	})
}

func TestLoadErrors(t *testing.T) {
	dir := testdir.New(t)

	missing := filepath.Join(dir, "missing.info")
	_, err := Load(missing)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want an error satisfying errors.Is(err, fs.ErrNotExist)", err)
	}
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load of a missing file: error %q does not name %s", err, missing)
	}

	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"foreign.info", []byte("PK\x03\x04 zip file"), ErrNotInfo},
		{"truncated.info", mustEncode(t, sampleState())[:40], ErrCorrupt},
		{"future.info", []byte("netfox-info 7\n{}\ncrc32c 00000000\n"), ErrVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Load(path)
			if !errors.Is(err, tt.want) {
				t.Errorf("Load(%s) = %+v, %v; want error %v", tt.name, s, err, tt.want)
			}
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("Load(%s): error %q does not name %s", tt.name, err, path)
			}
		})
	}
}

func TestResumable(t *testing.T) {
	s := sampleState()
	orig := sampleState()
	synced := make([]Segment, len(s.Segments))
	for i, seg := range s.Segments {
		seg.Next = seg.Synced
		synced[i] = seg
	}
	var written, writtenSynced int64
	for i := range s.Segments {
		written += s.Segments[i].Next - s.Segments[i].Start
		writtenSynced += synced[i].Next - synced[i].Start
	}

	tests := []struct {
		name        string
		stateBoot   string
		bootID      string
		want        []Segment
		wantWritten int64
	}{
		{"same boot", s.BootID, s.BootID, s.Segments, written},
		{"other boot", s.BootID, "ffffffff-0000-0000-0000-000000000000", synced, writtenSynced},
		{"boot unknown now", s.BootID, "", synced, writtenSynced},
		{"boot unknown then", "", "ffffffff-0000-0000-0000-000000000000", synced, writtenSynced},
		{"boot unknown both times", "", "", synced, writtenSynced},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := sampleState()
			st.BootID = tt.stateBoot
			got := st.Resumable(tt.bootID)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Resumable(%q) = %+v, want %+v", tt.bootID, got, tt.want)
			}
			if w := st.Written(tt.bootID); w != tt.wantWritten {
				t.Errorf("Written(%q) = %d, want %d", tt.bootID, w, tt.wantWritten)
			}
			orig.BootID = tt.stateBoot
			if !reflect.DeepEqual(st, orig) {
				t.Errorf("Resumable modified the state: %+v, want %+v", st, orig)
			}
		})
	}

	t.Run("no segments", func(t *testing.T) {
		st := State{URL: "http://h/f"}
		if got := st.Resumable("x"); len(got) != 0 {
			t.Errorf("Resumable = %+v, want none", got)
		}
		if got := st.Written("x"); got != 0 {
			t.Errorf("Written = %d, want 0", got)
		}
	})
}

func TestBootID(t *testing.T) {
	if _, err := os.Stat("/proc/sys/kernel/random/boot_id"); err != nil {
		if got := BootID(); got != "" {
			t.Errorf("BootID() = %q without /proc, want \"\"", got)
		}
		t.Skip("no /proc/sys/kernel/random/boot_id")
	}
	id := BootID()
	if id == "" || strings.TrimSpace(id) != id {
		t.Errorf("BootID() = %q, want a non-empty trimmed ID", id)
	}
	if again := BootID(); again != id {
		t.Errorf("BootID() changed from %q to %q", id, again)
	}
}

func FuzzDecode(f *testing.F) {
	valid := mustEncode(f, sampleState())
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add(mustEncode(f, State{URL: "u"}))
	f.Add(mustEncode(f, State{URL: "u", Length: 5, Segments: []Segment{}}))
	f.Add(encodeBody("1", `{"url":"u","length":10,"segments":[{"start":0,"next":5,"synced":2,"end":10}]}`))
	f.Add(encodeBody("1", `{"url":"u","URL":"v","length":1,"segments":null,"extra":[1,{}]}`))
	f.Add(encodeBody("1", "{\"url\":\"\xff\xfe\"}"))
	f.Add(encodeBody("2", `{}`))
	f.Add([]byte("netfox-info 1\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrNotInfo) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("Decode(%q) error %v wraps no sentinel", data, err)
			}
			return
		}
		again, err := Encode(s)
		if err != nil {
			t.Fatalf("Decode(%q) = %+v, which Encode rejects: %v", data, s, err)
		}
		s2, err := Decode(again)
		if err != nil {
			t.Fatalf("Decode(%q) = %+v, but its re-encoding %q fails: %v", data, s, again, err)
		}
		if !statesEqual(s, s2) {
			t.Fatalf("Decode(%q) = %+v, but its re-encoding decodes to %+v", data, s, s2)
		}
	})
}

func BenchmarkSave(b *testing.B) {
	s := sampleState()
	s.Segments = nil
	const length = 8 << 30
	for i := range int64(8) {
		start, end := i*length/8, (i+1)*length/8
		s.Segments = append(s.Segments, Segment{Start: start, Next: start + (end-start)/2, Synced: start + (end-start)/3, End: end})
	}
	s.Length = length
	for _, durable := range []bool{false, true} {
		name := "nondurable"
		if durable {
			name = "durable"
		}
		b.Run(name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.info")
			b.ReportAllocs()
			for b.Loop() {
				s.Segments[0].Next++
				if err := Save(path, s, durable); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
