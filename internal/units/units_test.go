package units

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1048576", 1 << 20, true},
		{"2MiB", 2 << 20, true},
		{"2mib", 2 << 20, true},
		{"2Mi", 2 << 20, true},
		{"500K", 500_000, true},
		{"500k", 500_000, true},
		{"500KB", 500_000, true},
		{"1G", 1_000_000_000, true},
		{"1GiB", 1 << 30, true},
		{"1.5MiB", 3 << 19, true},
		{" 3 MiB ", 3 << 20, true},
		{"2MiB/s", 2 << 20, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"2XB", 0, false},
		{"-1", 0, false},
		{"1..5M", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {3 << 19, "1.5 MiB"}, {1 << 30, "1.0 GiB"}, {5 << 40, "5.0 TiB"},
	}
	for _, tt := range tests {
		if got := FormatSize(tt.in); got != tt.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCount(t *testing.T) {
	for _, tt := range []struct {
		n    int
		word string
		want string
	}{{0, "file", "0 files"}, {1, "file", "1 file"}, {2, "file", "2 files"}, {1, "retry", "1 retry"}, {3, "retry", "3 retries"}, {1, "connection", "1 connection"}} {
		if got := Count(tt.n, tt.word); got != tt.want {
			t.Errorf("Count(%d, %q) = %q, want %q", tt.n, tt.word, got, tt.want)
		}
	}
}
