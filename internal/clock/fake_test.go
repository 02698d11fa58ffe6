package clock

import (
	"context"
	"slices"
	"testing"
	"time"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestFakeFiresInOrder: timers and ticks due within one Advance fire in
// the order of their deadlines, each with its own deadline as the time,
// and nothing fires early.
func TestFakeFiresInOrder(t *testing.T) {
	f := NewFake(epoch)
	tick := f.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	timer := f.NewTimer(500 * time.Millisecond)
	got := make(chan time.Duration, 8)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 3 {
			at := <-tick.C()
			got <- at.Sub(epoch)
		}
	}()
	f.Advance(299 * time.Millisecond)
	select {
	case <-timer.C():
		t.Fatal("timer fired before its deadline")
	default:
	}
	f.Advance(time.Second - 299*time.Millisecond) // ticks at 300, 600, 900
	<-done
	if at := <-timer.C(); at.Sub(epoch) != 500*time.Millisecond {
		t.Errorf("timer fired at %v, want 500ms", at.Sub(epoch))
	}
	close(got)
	var ticks []time.Duration
	for d := range got {
		ticks = append(ticks, d)
	}
	if want := []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, 900 * time.Millisecond}; !slices.Equal(ticks, want) {
		t.Errorf("ticks at %v, want %v", ticks, want)
	}
	if f.Now().Sub(epoch) != time.Second {
		t.Errorf("Now %v after advancing 1s", f.Now().Sub(epoch))
	}
}

// TestFakeStop: a stopped timer never fires and says it was pending; a
// stopped ticker does not hold Advance up.
func TestFakeStop(t *testing.T) {
	f := NewFake(epoch)
	timer := f.NewTimer(time.Second)
	if !timer.Stop() {
		t.Error("Stop of a pending timer reported false")
	}
	if timer.Stop() {
		t.Error("second Stop reported true")
	}
	tick := f.NewTicker(time.Millisecond)
	tick.Stop()
	f.Advance(time.Hour) // would block on an unread ticker
	select {
	case <-timer.C():
		t.Fatal("stopped timer fired")
	default:
	}
	if n := len(f.Pending()); n != 0 {
		t.Errorf("%d pending after Stop", n)
	}
}

// TestFakeWaitAndNext: WaitPending returns once the code under test waits
// on the clock, and AdvanceToNext moves exactly to its deadline.
func TestFakeWaitAndNext(t *testing.T) {
	f := NewFake(epoch)
	slept := make(chan error)
	go func() { slept <- Sleep(context.Background(), f, 1500*time.Millisecond) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.WaitPending(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if d, ok := f.AdvanceToNext(); !ok || d != 1500*time.Millisecond {
		t.Errorf("AdvanceToNext = %v, %v; want 1.5s, true", d, ok)
	}
	if err := <-slept; err != nil {
		t.Fatal(err)
	}
	if _, ok := f.AdvanceToNext(); ok {
		t.Error("AdvanceToNext with nothing pending reported true")
	}
	gone, stop := context.WithCancel(ctx)
	stop()
	if err := f.WaitPending(gone, 1); err == nil {
		t.Error("WaitPending with nothing pending and ctx done returned nil")
	}
}
