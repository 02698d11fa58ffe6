package siteinfo

import (
	"mime"
	"net/url"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/netfox/netfox/internal/safetext"
)

// maxNameBytes is the longest name Sanitize returns: the longest name most
// file systems accept (NAME_MAX, 255 bytes), less what a download adds to
// it: ".info", and for the temporary file state.Save writes it through, a
// dot, up to ten digits and ".tmp".
const maxNameBytes = 255 - len(".info") - len(".4294967295.tmp")

// maxExtBytes is the longest extension kept when a name is shortened.
const maxExtBytes = 16

// fallbackName is used when neither the header nor the URL gives a name.
const fallbackName = "download"

// Filename suggests a base name for the file from a Content-Disposition
// header (RFC 6266, filename* preferred, as mime.ParseMediaType decodes it)
// or else the last element of the URL path, and makes it safe with
// Sanitize. A path ending in a slash names a directory listing, not a
// file: it gives the fallback name.
func Filename(contentDisposition string, u *url.URL) string {
	if _, params, err := mime.ParseMediaType(contentDisposition); err == nil {
		if raw := params["filename"]; raw != "" {
			if name := Sanitize(raw); name != fallbackName || raw == fallbackName {
				return name
			}
		}
	}
	if u != nil && !strings.HasSuffix(u.Path, "/") {
		return Sanitize(path.Base(u.Path)) // u.Path is already percent-decoded
	}
	return fallbackName
}

// Sanitize turns a name chosen by a remote into one that stays inside the
// output directory and shows what it is, on every system netfox runs on:
// one rule everywhere, Windows' (a name safe there is safe on Unix too),
// so that a name means the same file wherever the download runs.
//
//   - Only the part after the last slash or backslash.
//   - No control, format (such as U+202E, which makes "inv\u202Etxt.exe"
//     display as "invexe.txt") or other invisible characters, no invalid
//     UTF-8, spaces of every kind as plain spaces.
//   - The characters Windows reserves, < > : " | ? *, as "_": a colon
//     would name a drive ("D:evil.exe", relative to drive D's current
//     directory) or an alternate data stream ("ab:c.bin", a hidden part
//     of "ab").
//   - No leading dots (no "..", no hidden files) and no trailing dots or
//     spaces (Windows drops them, so "a.exe." would be saved as "a.exe").
//   - Not a device name (CON, PRN, AUX, NUL, COM0-9, LPT0-9, CONIN$,
//     CONOUT$, in any case, with any extension, as in "nul.txt"): such a
//     name gets a "_" in front, "_nul.txt".
//   - Never empty, and at most maxNameBytes: a longer name is shortened,
//     keeping its extension, so that the .part, the .info and its
//     temporary file all fit NAME_MAX.
//
// A name the user gives (-o) is taken as written; only names from a
// remote go through here.
func Sanitize(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError:
			return -1
		case unicode.IsSpace(r) && !unicode.IsControl(r):
			return ' '
		case safetext.Invisible(r):
			return -1
		case strings.ContainsRune(windowsReserved, r):
			return '_'
		}
		return r
	}, name)
	// Dots and spaces together, so that no space hides a dot.
	dotOrSpace := func(r rune) bool { return r == '.' || unicode.IsSpace(r) }
	name = strings.TrimLeftFunc(name, dotOrSpace)
	name = strings.TrimRightFunc(shorten(name, maxNameBytes), dotOrSpace)
	if name == "" {
		return fallbackName
	}
	if isDeviceName(name) {
		name = strings.TrimRightFunc(shorten("_"+name, maxNameBytes), dotOrSpace)
	}
	return name
}

// windowsReserved are the printable characters Windows does not allow in
// a file name.
const windowsReserved = `<>:"|?*`

// isDeviceName reports whether Windows takes name for a device in every
// directory: its part before the first dot, less trailing spaces, is CON,
// PRN, AUX, NUL, the console's CONIN$ or CONOUT$, or COM or LPT with one
// digit (superscripts ¹²³ included), in any case.
func isDeviceName(name string) bool {
	stem, _, _ := strings.Cut(name, ".")
	stem = strings.ToUpper(strings.TrimRight(stem, " "))
	switch stem {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(stem) < 4 || (stem[:3] != "COM" && stem[:3] != "LPT") {
		return false
	}
	switch stem[3:] {
	case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
		return true
	}
	return false
}

// shorten cuts name to at most limit bytes at a character boundary,
// keeping an extension of up to maxExtBytes.
func shorten(name string, limit int) string {
	if len(name) <= limit {
		return name
	}
	ext := path.Ext(name)
	if len(ext) > maxExtBytes || len(ext) == len(name) {
		ext = ""
	}
	stem := name[:len(name)-len(ext)]
	for len(stem)+len(ext) > limit {
		_, size := utf8.DecodeLastRuneInString(stem)
		stem = stem[:len(stem)-size]
	}
	return strings.TrimRightFunc(stem, unicode.IsSpace) + ext
}
