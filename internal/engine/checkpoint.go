package engine

import (
	"time"

	"github.com/netfox/netfox/fileaccess"
	"github.com/netfox/netfox/segment"
	"github.com/netfox/netfox/siteinfo"
	"github.com/netfox/netfox/state"
)

// checkpointer saves the progress of a running download to its .info file:
// cheaply every CheckpointInterval, so that a killed process loses about
// one interval of transfer, and durably every SyncInterval, after flushing
// the .part, so that a power loss loses at most that much. See the state
// package for why two kinds of save make both cheap.
type checkpointer struct {
	d     *Downloader
	part  *fileaccess.File
	info  siteinfo.Info
	table *segment.Table
	path  string

	err error // the first failed save, reported if the final one fails too
}

func (c *checkpointer) loop(stop <-chan struct{}) {
	tick := time.NewTicker(c.d.req.CheckpointInterval)
	defer tick.Stop()
	lastSync := time.Now()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			durable := now.Sub(lastSync) >= c.d.req.SyncInterval
			if durable {
				lastSync = now
			}
			c.part.StartWriteback()
			if err := c.save(durable); err != nil && c.err == nil {
				c.err = err
				c.d.notify(EventSaveFailed, "cannot save progress to %s: %v", c.path, err)
			}
		}
	}
}

// save writes the current offsets. A durable save first flushes the .part
// and only then marks the offsets seen before the flush as synced: a
// synced offset never runs ahead of the data on disk.
func (c *checkpointer) save(durable bool) error {
	spans := c.table.Snapshot()
	if durable {
		if err := c.part.Sync(); err != nil {
			return err
		}
		c.table.MarkSynced(spans)
		spans = c.table.Snapshot()
	}
	return state.Save(c.path, c.d.stateOf(c.info, spans), durable)
}
