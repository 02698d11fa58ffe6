package retry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

type statusLike struct {
	permanent, overloaded bool
	after                 time.Duration
}

func (s statusLike) Error() string             { return "status" }
func (s statusLike) Permanent() bool           { return s.permanent }
func (s statusLike) Overloaded() bool          { return s.overloaded }
func (s statusLike) RetryAfter() time.Duration { return s.after }

func TestClassify(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name                  string
		err                   error
		permanent, overloaded bool
		after                 time.Duration
	}{
		{"plain", base, false, false, 0},
		{"marked", Permanent(base), true, false, 0},
		{"marked, wrapped", fmt.Errorf("ctx: %w", Permanent(base)), true, false, 0},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), true, false, 0},
		{"deadline", context.DeadlineExceeded, true, false, 0},
		{"404-like", statusLike{permanent: true}, true, false, 0},
		{"503-like", fmt.Errorf("seg: %w", statusLike{overloaded: true, after: 7 * time.Second}), false, true, 7 * time.Second},
		{"negative Retry-After", statusLike{after: -time.Second}, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPermanent(tt.err); got != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tt.permanent)
			}
			if got := IsOverloaded(tt.err); got != tt.overloaded {
				t.Errorf("IsOverloaded = %v, want %v", got, tt.overloaded)
			}
			if got := After(tt.err); got != tt.after {
				t.Errorf("After = %v, want %v", got, tt.after)
			}
		})
	}
	if !errors.Is(Permanent(base), base) || Permanent(base).Error() != base.Error() {
		t.Error("Permanent changed the error's chain or message")
	}
}

// TestBackoffBounds: each wait lies in [d/2, d] for d = base<<(failures-1)
// capped at ceiling; Retry-After lengthens it, up to five ceilings.
func TestBackoffBounds(t *testing.T) {
	tests := []struct {
		failures      int
		base, ceiling time.Duration
		err           error
		lo, hi        time.Duration
	}{
		{1, 0, 0, nil, DefaultBase / 2, DefaultBase},
		{3, 0, 0, nil, 2 * DefaultBase, 4 * DefaultBase},
		{40, 0, 0, nil, DefaultCeiling / 2, DefaultCeiling},
		{0, 100 * time.Millisecond, time.Second, nil, 50 * time.Millisecond, 100 * time.Millisecond},
		{5, 100 * time.Millisecond, time.Second, nil, 500 * time.Millisecond, time.Second},
		{1, 0, 0, statusLike{after: 3 * time.Second}, 3 * time.Second, 3 * time.Second},
		{1, 0, time.Second, statusLike{after: time.Hour}, 5 * time.Second, 5 * time.Second},
	}
	for _, tt := range tests {
		for range 200 {
			if d := Backoff(tt.failures, tt.base, tt.ceiling, tt.err); d < tt.lo || d > tt.hi {
				t.Fatalf("Backoff(%d, %v, %v, %v) = %v, want in [%v, %v]", tt.failures, tt.base, tt.ceiling, tt.err, d, tt.lo, tt.hi)
			}
		}
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a canceled context: %v", err)
	}
	if err := Sleep(context.Background(), 0); err != nil {
		t.Fatalf("Sleep(0): %v", err)
	}
}
