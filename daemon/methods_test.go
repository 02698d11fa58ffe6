package daemon

import (
	"testing"

	"github.com/netfox/netfox"
)

// getServers gives each URI its own source's rate, found by its address
// without the password; one address has the whole rate.
func TestServerRate(t *testing.T) {
	one := netfox.Snapshot{Rate: 300}
	mirrors := netfox.Snapshot{Rate: 300, Sources: []netfox.SourceState{
		{URL: "http://u:***@a/f", Rate: 100}, {URL: "http://b/f", Rate: 200}, {URL: "http://c/f", Rate: 50, Dropped: true},
	}}
	for _, tt := range []struct {
		snap netfox.Snapshot
		i    int
		uri  string
		want float64
	}{
		{one, 0, "http://a/f", 300},
		{one, 1, "http://b/f", 0},
		{mirrors, 0, "http://u:secret@a/f", 100},
		{mirrors, 1, "http://b/f", 200},
		{mirrors, 2, "http://c/f", 0},
		{mirrors, 3, "http://unused/f", 0},
	} {
		if got := serverRate(tt.snap, tt.i, tt.uri); got != tt.want {
			t.Errorf("serverRate(%d, %s) = %v, want %v", tt.i, tt.uri, got, tt.want)
		}
	}
}
