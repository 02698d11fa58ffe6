package engine

import (
	"testing"

	"github.com/netfox/netfox/siteinfo"
	"github.com/netfox/netfox/state"
)

// The resume decision, one fact at a time, without a server.
func TestDecideResume(t *testing.T) {
	const date, later = "Mon, 02 Jan 2006 15:04:05 GMT", "Tue, 03 Jan 2006 15:04:05 GMT"
	seg := []state.Segment{{Start: 0, Next: 10, Synced: 10, End: 100}}
	saved := func(length int64, etag, modified string, segs []state.Segment) state.State {
		return state.State{Length: length, ETag: etag, LastModified: modified, Segments: segs}
	}
	now := func(length int64, etag, modified string) siteinfo.Info {
		return siteinfo.Info{Length: length, ETag: etag, LastModified: modified}
	}
	for _, tt := range []struct {
		name    string
		saved   state.State
		now     siteinfo.Info
		checked bool
		want    resumeVerdict
	}{
		{"same strong ETag", saved(100, `"a"`, "", seg), now(100, `"a"`, later), false, resumeSame},
		{"same Last-Modified", saved(100, "", date, seg), now(100, "", date), false, resumeSame},
		{"ETag changed", saved(100, `"a"`, date, seg), now(100, `"b"`, date), false, restartChanged},
		{"length changed", saved(100, `"a"`, "", seg), now(200, `"a"`, ""), true, restartChanged},
		{"Last-Modified changed", saved(100, "", date, seg), now(100, "", later), true, restartChanged},
		{"one-stream marker", saved(0, `"a"`, "", nil), now(100, `"a"`, ""), false, restartNothingSaved},
		{"length unknown now", saved(100, `"a"`, "", seg), now(-1, `"a"`, ""), false, restartLength},
		{"no validators", saved(100, "", "", seg), now(100, "", ""), false, restartUnverifiable},
		{"no validators, checksum", saved(100, "", "", seg), now(100, "", ""), true, resumeSame},
		{"weak ETags only", saved(100, `W/"a"`, "", seg), now(100, `W/"a"`, ""), false, restartUnverifiable},
		{"validators on one side only", saved(100, `"a"`, "", seg), now(100, "", date), false, restartUnverifiable},
	} {
		if got := decideResume(tt.saved, tt.now, tt.checked); got != tt.want {
			t.Errorf("%s: decideResume = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// A new address resumes a partial download only with a proof that it
// serves the same version.
func TestProvenMoved(t *testing.T) {
	const date = "Mon, 02 Jan 2006 15:04:05 GMT"
	for _, tt := range []struct {
		name     string
		saved    state.State
		now      siteinfo.Info
		checksum bool
		want     moveProof
	}{
		{"same strong ETag", state.State{Length: 9, ETag: `"x"`}, siteinfo.Info{Length: 9, ETag: `"x"`}, false, moveSameETag},
		{"same Last-Modified", state.State{Length: 9, LastModified: date}, siteinfo.Info{Length: 9, LastModified: date}, false, moveSameLastModified},
		{"checksum only", state.State{Length: 9}, siteinfo.Info{Length: 9}, true, moveChecksum},
		{"nothing", state.State{Length: 9}, siteinfo.Info{Length: 9}, false, moveUnproven},
		{"other length, checksum", state.State{Length: 9}, siteinfo.Info{Length: 10}, true, moveUnproven},
		{"unknown length", state.State{Length: -1, ETag: `"x"`}, siteinfo.Info{Length: -1, ETag: `"x"`}, true, moveUnproven},
		{"other ETag, checksum", state.State{Length: 9, ETag: `"x"`}, siteinfo.Info{Length: 9, ETag: `"y"`}, true, moveUnproven},
	} {
		if got := provenMoved(tt.saved, tt.now, tt.checksum); got != tt.want {
			t.Errorf("%s: provenMoved = %v, want %v", tt.name, got, tt.want)
		}
	}
}
