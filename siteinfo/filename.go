package siteinfo

import (
	"mime"
	"net/url"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameBytes is the longest name most file systems accept (NAME_MAX).
// A few bytes are kept free for the ".part" and ".info" suffixes.
const maxNameBytes = 255 - len(".part.tmp")

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
// output directory: only the part after the last slash or backslash, no
// control characters or invalid UTF-8, no leading dots (no "..", no hidden
// files), at most maxNameBytes bytes, and never empty.
func Sanitize(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	// Dots and spaces of any kind together, so that no space hides a dot.
	name = strings.TrimLeftFunc(name, func(r rune) bool { return r == '.' || unicode.IsSpace(r) })
	name = strings.TrimRightFunc(name, unicode.IsSpace)
	for len(name) > maxNameBytes {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" {
		return fallbackName
	}
	return name
}
