package netfox_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/testserver"
)

// TestEventKindNames: every kind has its own snake-case name, the one
// --json prints.
func TestEventKindNames(t *testing.T) {
	seen := map[string]netfox.EventKind{}
	for k := netfox.EventRetry; k <= netfox.EventAutoStep; k++ {
		name := k.String()
		if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz_") != "" {
			t.Errorf("kind %d is named %q", int(k), name)
		}
		if other, ok := seen[name]; ok {
			t.Errorf("kinds %d and %d are both named %q", int(other), int(k), name)
		}
		seen[name] = k
	}
	if got := netfox.EventKind(0).String(); got != "EventKind(0)" {
		t.Errorf("the zero kind is named %q", got)
	}
}

// TestEventsCarryFacts: one stream gives the notices and the retries,
// a retry with the byte it goes on from, its wait and its cause.
func TestEventsCarryFacts(t *testing.T) {
	content := randomBytes(2<<20, 3)
	srv := testserver.New(t, content, testserver.CutAfter(300_000, 1))
	out := filepath.Join(t.TempDir(), "out")
	var mu sync.Mutex
	var events []netfox.Event
	_, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Connections: 1, RetryWait: time.Millisecond,
		OnEvent: func(e netfox.Event) { mu.Lock(); events = append(events, e); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	var retries int
	for _, e := range events {
		if e.Text == "" {
			t.Errorf("event %v without a text", e.Kind)
		}
		if e.Kind != netfox.EventRetry {
			continue
		}
		retries++
		if e.Offset <= 0 || e.Offset >= int64(len(content)) || e.Wait <= 0 || e.Err == nil {
			t.Errorf("retry event: offset %d, wait %v, cause %v; want the byte it goes on from, a wait and a cause", e.Offset, e.Wait, e.Err)
		}
	}
	if retries != 1 {
		t.Errorf("%d retry events, want 1: %+v", retries, events)
	}
}

// The kinds meant for the user are the notices; the scheduler's are not.
func TestEventKindNotice(t *testing.T) {
	for k, want := range map[netfox.EventKind]bool{
		netfox.EventRetry: true, netfox.EventNoLength: true, netfox.EventOriginFailed: true,
		netfox.EventSteal: false, netfox.EventHedge: false, netfox.EventAutoStep: false, 0: false,
	} {
		if got := k.Notice(); got != want {
			t.Errorf("%v.Notice() = %v, want %v", k, got, want)
		}
	}
}
