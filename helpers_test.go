package netfox_test

import (
	"errors"
	"sync"
	"time"

	"github.com/netfox/netfox"
)

func sleepBriefly() { time.Sleep(5 * time.Millisecond) }

func asStatus(err error, target **netfox.StatusError) bool { return errors.As(err, target) }

// latest holds the state a download last reported to OnProgress.
type latest struct {
	mu   sync.Mutex
	snap netfox.Snapshot
}

// watch makes req report to l every 10 ms and returns req.
func (l *latest) watch(req netfox.Request) netfox.Request {
	req.OnProgress, req.ProgressInterval = l.set, 10*time.Millisecond
	return req
}

func (l *latest) set(s netfox.Snapshot) { l.mu.Lock(); l.snap = s; l.mu.Unlock() }

func (l *latest) Snapshot() netfox.Snapshot { l.mu.Lock(); defer l.mu.Unlock(); return l.snap }
