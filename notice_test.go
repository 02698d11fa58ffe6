package netfox_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/testserver"
)

// TestNoticeKindNames: every kind has its own snake-case name, the one
// --json prints.
func TestNoticeKindNames(t *testing.T) {
	seen := map[string]netfox.NoticeKind{}
	for k := netfox.NoticeRetry; k <= netfox.NoticeStreaming; k++ {
		name := k.String()
		if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz_") != "" {
			t.Errorf("kind %d is named %q", int(k), name)
		}
		if other, ok := seen[name]; ok {
			t.Errorf("kinds %d and %d are both named %q", int(other), int(k), name)
		}
		seen[name] = k
	}
	if got := netfox.NoticeKind(0).String(); got != "NoticeKind(0)" {
		t.Errorf("the zero kind is named %q", got)
	}
}

// TestNotifyGetsTheText: a caller of Notify alone still gets every
// notice, as the Text that OnNotice sees.
func TestNotifyGetsTheText(t *testing.T) {
	content := randomBytes(300_000, 3)
	srv := testserver.New(t, content, testserver.NoLength())
	out := filepath.Join(t.TempDir(), "out")
	var mu sync.Mutex
	var kinds []netfox.Notice
	var texts []string
	_, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out,
		OnNotice: func(n netfox.Notice) { mu.Lock(); kinds = append(kinds, n); mu.Unlock() },
		Notify:   func(msg string) { mu.Lock(); texts = append(texts, msg); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	if len(kinds) == 0 || len(kinds) != len(texts) {
		t.Fatalf("OnNotice got %v, Notify %q", kinds, texts)
	}
	for i, n := range kinds {
		if n.Text != texts[i] || n.Text == "" {
			t.Errorf("notice %d: OnNotice got %q, Notify %q", i, n.Text, texts[i])
		}
	}
	if kinds[0].Kind != netfox.NoticeNoLength {
		t.Errorf("first notice %v, want %v", kinds[0].Kind, netfox.NoticeNoLength)
	}
}
