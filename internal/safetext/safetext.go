// Package safetext makes text that came from a server safe to print on a
// terminal (Escape). The protocol layer escapes what it quotes in its
// errors, and the command escapes every line it prints; both use this
// one rule.
package safetext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape makes text that came from a server (a reason phrase, an ETag, a
// header value, a name) safe to print on a terminal: control characters
// and bytes that are not UTF-8 appear as \x.., format characters (such as
// U+202E, which reverses the text after it) and other invisible ones as
// \u...., so that nothing the server sends can move the cursor, retitle
// the window, recolour the output or hide what it says. Printable text,
// backslashes included, is kept as it is, so escaping twice changes
// nothing.
func Escape(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return r == utf8.RuneError || Invisible(r) })
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for s = s[i:]; s != ""; {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case r < utf8.RuneSelf && Invisible(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case Invisible(r) || r == utf8.RuneError:
			if r > 0xFFFF {
				fmt.Fprintf(&b, `\U%08x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[:size])
		}
		s = s[size:]
	}
	return b.String()
}

// Invisible reports a character that does not show as itself: controls
// (C0, DEL, C1), format characters (Unicode category Cf: bidirectional
// overrides, zero-width joiners and spaces, the byte order mark), line and
// paragraph separators, private-use characters, and the fillers that
// render as blank.
func Invisible(r rune) bool {
	switch r {
	case '\u115F', '\u1160', '\u3164', '\uFFA0', '\u2800', '\uFFFC':
		return true
	}
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co, unicode.Variation_Selector) ||
		(unicode.IsSpace(r) && r != ' ')
}
