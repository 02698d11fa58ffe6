package siteinfo

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// checkSafeName verifies the promises of Sanitize: a non-empty name that
// is not "." or "..", without path separators, NUL, control characters or
// invalid UTF-8, not hidden, and short enough for NAME_MAX with suffixes.
func checkSafeName(t *testing.T, name string) {
	t.Helper()
	checkNameChars(t, name)
	switch {
	case name == "." || name == "..":
		t.Errorf("unsafe name %q", name)
	case strings.HasPrefix(name, "."):
		t.Errorf("name %q is hidden", name)
	}
}

// checkNameChars is checkSafeName without the checks on leading dots.
func checkNameChars(t *testing.T, name string) {
	t.Helper()
	switch {
	case name == "":
		t.Errorf("empty name")
	case strings.ContainsAny(name, "/\\\x00"+windowsReserved):
		t.Errorf("name %q contains a path separator, NUL or a character Windows reserves", name)
	case strings.HasSuffix(name, ".") || strings.HasSuffix(name, " "):
		t.Errorf("name %q ends in a dot or a space, which Windows drops", name)
	case isDeviceName(name):
		t.Errorf("name %q is a Windows device", name)
	case !utf8.ValidString(name):
		t.Errorf("name %q is not valid UTF-8", name)
	case strings.ContainsFunc(name, unicode.IsControl):
		t.Errorf("name %q contains a control character", name)
	case len(name) > maxNameBytes:
		t.Errorf("name %q is %d bytes long, want at most %d", name, len(name), maxNameBytes)
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "debian-12.iso", "debian-12.iso"},
		{"spaces inside", "my file (1).tar.gz", "my file (1).tar.gz"},
		{"unicode", "naïve 日本語.txt", "naïve 日本語.txt"},
		{"dot inside", "a..b", "a..b"},
		{"trailing dot", "file.", "file"},
		{"trailing dots and spaces", "a.exe. . ", "a.exe"},
		{"drive-relative", "D:evil.exe", "D_evil.exe"},
		{"alternate data stream", "ab:c.bin", "ab_c.bin"},
		{"reserved characters", `a<b>c"d|e?f*g.bin`, "a_b_c_d_e_f_g.bin"},
		{"colon and question mark", "a:b?.bin", "a_b_.bin"},
		{"device", "CON", "_CON"},
		{"device lower case", "nul", "_nul"},
		{"device with extension", "aux.txt", "_aux.txt"},
		{"device with two extensions", "Com1.tar.gz", "_Com1.tar.gz"},
		{"device before a space", "lpt9 .txt", "_lpt9 .txt"},
		{"device superscript", "COM¹", "_COM¹"},
		{"console device", "conout$", "_conout$"},
		{"device behind a trailing dot", "prn.", "_prn"},
		{"not a device: longer", "CONSOLE.txt", "CONSOLE.txt"},
		{"not a device: two digits", "COM10", "COM10"},
		{"not a device: inside", "my-con.txt", "my-con.txt"},
		{"parent traversal", "../../etc/passwd", "passwd"},
		{"absolute", "/abs/path", "path"},
		{"windows traversal", `..\..\win.ini`, "win.ini"},
		{"double backslashes", `..\\..\\win.ini`, "win.ini"},
		{"mixed separators", `a/b\c`, "c"},
		{"windows drive", `C:\Windows\system.ini`, "system.ini"},
		{"NUL", "a\x00b", "ab"},
		{"escape sequence", "\x1b[31mred", "[31mred"},
		{"DEL and C1 controls", "a\x7fb\u0085c\u009bd", "abcd"},
		{"newlines", "evil\r\nname.txt", "evilname.txt"},
		{"tab", "a\tb", "ab"},
		{"invalid UTF-8", "a\xffb\xc3", "ab"},
		{"replacement character", "a\ufffdb", "ab"},
		{"dotdot", "..", "download"},
		{"dot", ".", "download"},
		{"empty", "", "download"},
		{"spaces", "   ", "download"},
		{"only dots", "....", "download"},
		{"only controls", "\x00\x01\x1b", "download"},
		{"trailing slash", "dir/", "download"},
		{"trailing backslash", `dir\`, "download"},
		{"slash", "/", "download"},
		{"hidden", ".hidden", "hidden"},
		{"hidden after traversal", "../.bashrc", "bashrc"},
		{"leading spaces", "  name.txt", "name.txt"},
		{"trailing spaces", "name.txt  ", "name.txt"},
		{"control char hides a dot", "\x00.hidden", "hidden"},
		{"control char hides dotdot", ".\x00.", "download"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sanitize(tt.in)
			if got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			checkSafeName(t, got)
		})
	}
}

// TestSanitizeDotsBehindSpaces covers leading dots that only become
// leading once spaces are trimmed.
func TestSanitizeDotsBehindSpaces(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"dots and spaces", " . .. x ", "x"},
		{"dot space dotdot", ". ..", "download"},
		{"dot space dot", ". .", "download"},
		{"dot space hidden", ". .bashrc", "bashrc"},
		{"traversal then dot space dotdot", "x/. ..", "download"},
		{"tab instead of space", ".\t..", "download"}, // the tab goes as a control character
		{"no-break space then dotdot", ".\u00a0..", "download"},
		{"ideographic space then dotdot", ".\u3000..", "download"},
		{"em space then dot", ".\u2003.", "download"},
		{"no-break space then hidden", "\u00a0.hidden", "hidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sanitize(tt.in)
			if got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			checkSafeName(t, got)
		})
	}
}

func TestSanitizeLength(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"1000 ASCII bytes", strings.Repeat("a", 1000), strings.Repeat("a", maxNameBytes)},
		{"exactly the limit", strings.Repeat("b", maxNameBytes), strings.Repeat("b", maxNameBytes)},
		{"one over the limit", strings.Repeat("b", maxNameBytes+1), strings.Repeat("b", maxNameBytes)},
		// 1 + 2*130 bytes: 117 two-byte runes fit after the "a" (235 bytes).
		{"two-byte runes", "a" + strings.Repeat("é", 130), "a" + strings.Repeat("é", 117)},
		// 78 three-byte runes take 234 bytes; a 79th would not fit.
		{"three-byte runes", strings.Repeat("€", 100), strings.Repeat("€", 78)},
		// 58 four-byte runes take 232 bytes; a 59th would not fit.
		{"four-byte runes", strings.Repeat("😀", 70), strings.Repeat("😀", 58)},
		{"extension kept", strings.Repeat("n", 300) + ".tar.gz", strings.Repeat("n", maxNameBytes-len(".gz")) + ".gz"},
		{"multi-byte stem, extension kept", strings.Repeat("€", 100) + ".iso", strings.Repeat("€", 77) + ".iso"},
		{"overlong extension is no extension", "a." + strings.Repeat("e", 300), "a." + strings.Repeat("e", maxNameBytes-2)},
		{"rune straddles the limit", strings.Repeat("a", maxNameBytes-1) + "日本", strings.Repeat("a", maxNameBytes-1)},
		{"long path, short base", strings.Repeat("d/", 1000) + "f.txt", "f.txt"},
		{"dots before a long name", strings.Repeat(".", 10) + strings.Repeat("x", 300), strings.Repeat("x", maxNameBytes)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sanitize(tt.in)
			if got != tt.want {
				t.Errorf("Sanitize(%d bytes) = %q (%d bytes), want %q (%d bytes)", len(tt.in), got, len(got), tt.want, len(tt.want))
			}
			checkSafeName(t, got)
		})
	}
	// The .info's temporary file, "NAME.info.4294967295.tmp", fits NAME_MAX.
	if maxNameBytes+len(".info.4294967295.tmp") != 255 {
		t.Errorf("maxNameBytes = %d leaves no room for the .info's temporary file", maxNameBytes)
	}
}

func TestFilename(t *testing.T) {
	tests := []struct {
		name   string
		header string
		url    string // "" for a nil URL
		want   string
	}{
		{"header", `attachment; filename="x.iso"`, "http://h/y.bin", "x.iso"},
		{"header unquoted", `attachment; filename=x.iso`, "http://h/y.bin", "x.iso"},
		{"inline header", `inline; filename="x.iso"`, "http://h/y.bin", "x.iso"},
		{"RFC 5987 name", `attachment; filename*=UTF-8''na%C3%AFve.txt`, "http://h/y.bin", "naïve.txt"},
		{"RFC 5987 name preferred", `attachment; filename="naive.txt"; filename*=UTF-8''na%C3%AFve.txt`, "http://h/y.bin", "naïve.txt"},
		{"RFC 5987 name preferred, given first", `attachment; filename*=UTF-8''na%C3%AFve.txt; filename="naive.txt"`, "http://h/y.bin", "naïve.txt"},
		{"header traversal", `attachment; filename="../../etc/passwd"`, "http://h/y.bin", "passwd"},
		{"header encoded traversal", `attachment; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd`, "http://h/y.bin", "passwd"},
		{"header encoded NUL", `attachment; filename*=UTF-8''a%00b.txt`, "http://h/y.bin", "ab.txt"},
		{"header hidden", `attachment; filename=".bashrc"`, "http://h/y.bin", "bashrc"},
		{"header dotdot", `attachment; filename=".."`, "http://h/y.bin", "y.bin"},
		{"header dot space dotdot", `attachment; filename=". .."`, "http://h/y.bin", "y.bin"},
		{"URL dot space dotdot", "", "http://h/.%20..", "download"},
		{"header dot no-break space dotdot", `attachment; filename*=UTF-8''.%C2%A0..`, "http://h/y.bin", "y.bin"},
		{"URL dot no-break space dotdot", "", "http://h/.%C2%A0..", "download"},
		{"header empty name", `attachment; filename=""`, "http://h/y.bin", "y.bin"},
		{"header without name", `attachment`, "http://h/y.bin", "y.bin"},
		{"malformed header", `attachment; filename=`, "http://h/y.bin", "y.bin"},
		{"malformed header, unterminated quote", `attachment; filename="x.iso`, "http://h/y.bin", "y.bin"},
		{"malformed header, no type", `; filename="x.iso"`, "http://h/y.bin", "y.bin"},
		{"no header", "", "http://h/dir/y.bin", "y.bin"},
		{"percent-encoding", "", "http://h/a%20b.bin", "a b.bin"},
		{"percent-encoded UTF-8", "", "http://h/na%C3%AFve.txt", "naïve.txt"},
		{"query ignored", "", "http://h/get.php?file=x.iso", "get.php"},
		{"fragment ignored", "", "http://h/y.bin#frag", "y.bin"},
		{"encoded slash", "", "http://h/a%2Fb.bin", "b.bin"},
		{"encoded backslash", "", "http://h/a%5Cb.bin", "b.bin"},
		{"encoded dotdot", "", "http://h/%2e%2e", "download"},
		{"encoded NUL", "", "http://h/a%00b", "ab"},
		{"root path", "", "http://h/", "download"},
		{"empty path", "", "http://h", "download"},
		{"trailing slash", "", "http://h/dir/", "download"},
		{"nil URL", "", "", "download"},
		{"nil URL with header", `attachment; filename="x.iso"`, "", "x.iso"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u *url.URL
			if tt.url != "" {
				var err error
				if u, err = url.Parse(tt.url); err != nil {
					t.Fatal(err)
				}
			}
			got := Filename(tt.header, u)
			if got != tt.want {
				t.Errorf("Filename(%q, %q) = %q, want %q", tt.header, tt.url, got, tt.want)
			}
			checkSafeName(t, got)
		})
	}
}

func FuzzFilename(f *testing.F) {
	f.Add(`attachment; filename="x.iso"`, "/y.bin")
	f.Add(`attachment; filename*=UTF-8''na%C3%AFve.txt`, "/")
	f.Add(`attachment; filename="../../etc/passwd"`, "/a/../b")
	f.Add(`attachment; filename*=UTF-8''..%2F..%2F%00`, "..")
	f.Add(`inline; filename=".."`, `\..\..\x`)
	f.Add(`attachment; filename=`, "")
	f.Add("", "/dir/")
	f.Add("\x00", "/\x1b[31m")
	f.Add("", "/"+strings.Repeat("日", 100))
	f.Add(`attachment; filename=". .."`, "/. ..")
	f.Add(`attachment; filename*=UTF-8''.%E3%80%80..`, "/.\u00a0..")
	dir := filepath.FromSlash("/srv/downloads")
	f.Fuzz(func(t *testing.T, header, urlPath string) {
		for _, u := range []*url.URL{{Scheme: "http", Host: "h", Path: urlPath}, nil} {
			name := Filename(header, u)
			checkNameChars(t, name)
			checkSafeName(t, name)
			if !filepath.IsLocal(name) {
				t.Fatalf("Filename(%q, %q) = %q: not a local name", header, urlPath, name)
			}
			p := filepath.Join(dir, name)
			rel, err := filepath.Rel(dir, p)
			if err != nil || rel != name || strings.HasPrefix(rel, "..") || filepath.Dir(p) != dir {
				t.Fatalf("Filename(%q, %q) = %q: Join(%q, name) = %q leaves the directory (Rel %q, %v)",
					header, urlPath, name, dir, p, rel, err)
			}
		}
		for _, in := range []string{header, urlPath} {
			s := Sanitize(in)
			checkNameChars(t, s)
			checkSafeName(t, s)
		}
		if s := Sanitize(header); Sanitize(s) != s {
			t.Fatalf("Sanitize is not idempotent: Sanitize(%q) = %q, Sanitize of that = %q", header, s, Sanitize(s))
		}
	})
}
