package safetext

import "testing"

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Not Found", "Not Found"},
		{"Not\x1b]0;T\x07\x1b[31mFound", `Not\x1b]0;T\x07\x1b[31mFound`},
		{"inv\u202etxt.exe", `inv\u202etxt.exe`},
		{"a\u200bb\ufeffc", `a\u200bb\ufeffc`},
		{"csi\u009b1m", `csi\u009b1m`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"tab\there\r\n", `tab\x09here\x0d\x0a`},
		{"ünïcödé 日本 \\x1b", "ünïcödé 日本 \\x1b"},
		{"tag\U000E0041", `tag\U000e0041`},
	}
	for _, tt := range tests {
		got := Escape(tt.in)
		if got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if Escape(got) != got {
			t.Errorf("Escape is not idempotent on %q", tt.in)
		}
	}
}
