package siteinfo

import (
	"net/http"
	"testing"
	"time"
)

// retryNow is the fixed "now" of the Retry-After tests.
var retryNow = time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Duration
	}{
		{"seconds", "120", 2 * time.Minute},
		{"zero", "0", 0},
		{"one", "1", time.Second},
		{"leading zeros", "007", 7 * time.Second},
		{"surrounding spaces", "  120\t", 2 * time.Minute},
		{"largest 32-bit", "4294967295", 4294967295 * time.Second},
		{"negative", "-1", 0},
		{"plus sign", "+5", 0},
		{"fraction", "1.5", 0},
		{"unit", "10s", 0},
		{"text", "abc", 0},
		{"empty", "", 0},
		{"spaces only", "   ", 0},
		{"IMF-fixdate 30s ahead", retryNow.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{"RFC 850 date 30s ahead", retryNow.Add(30 * time.Second).Format(time.RFC850), 30 * time.Second},
		{"asctime date 30s ahead", retryNow.Add(30 * time.Second).Format(time.ANSIC), 30 * time.Second},
		{"date an hour ahead", retryNow.Add(time.Hour).Format(http.TimeFormat), time.Hour},
		{"date now", retryNow.Format(http.TimeFormat), 0},
		{"past date", retryNow.Add(-30 * time.Second).Format(http.TimeFormat), 0},
		{"distant past date", "Thu, 01 Jan 1970 00:00:00 GMT", 0},
		{"malformed date", "Sat, 14 Mar 2026 25:61:00 GMT", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseRetryAfter(tt.in, retryNow); got != tt.want {
				t.Errorf("ParseRetryAfter(%q, %v) = %v, want %v", tt.in, retryNow, got, tt.want)
			}
		})
	}
}

func TestParseRetryAfterSubsecondNow(t *testing.T) {
	// HTTP dates have whole seconds; a now between seconds shortens the wait.
	now := retryNow.Add(250 * time.Millisecond)
	in := retryNow.Add(30 * time.Second).Format(http.TimeFormat)
	if got, want := ParseRetryAfter(in, now), 29750*time.Millisecond; got != want {
		t.Errorf("ParseRetryAfter(%q, %v) = %v, want %v", in, now, got, want)
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	f.Add("120", int64(0))
	f.Add("0", int64(0))
	f.Add("-1", int64(0))
	f.Add("18446744073709551615", int64(0))
	f.Add(retryNow.Add(30*time.Second).Format(http.TimeFormat), retryNow.Unix())
	f.Add("Fri, 31 Dec 9999 23:59:59 GMT", int64(-1<<62))
	f.Add("Mon, 01 Jan 0001 00:00:00 GMT", int64(1<<62))
	f.Fuzz(func(t *testing.T, v string, nowUnix int64) {
		now := time.Unix(nowUnix, 0)
		if d := ParseRetryAfter(v, now); d < 0 {
			t.Fatalf("ParseRetryAfter(%q, %v) = %v, want a non-negative wait", v, now, d)
		}
		if d := ParseRetryAfter(v, retryNow); d < 0 {
			t.Fatalf("ParseRetryAfter(%q, %v) = %v, want a non-negative wait", v, retryNow, d)
		}
	})
}
