package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/netfox/netfox/internal/testserver"
)

// BenchmarkTellActive is the cost of tellActive's answer (built and
// encoded) with 16 downloads active and 984 waiting, without the HTTP
// round trip.
func BenchmarkTellActive(b *testing.B) {
	content := make([]byte, 16<<20)
	srv := testserver.New(b, content, testserver.RatePerResponse(64<<10))
	q, err := Open(Options{Config: Config{Dir: b.TempDir(), Connections: 2}, MaxConcurrent: 16})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	for i := range 1000 {
		if _, err := q.Add([]string{srv.FileURL}, map[string]string{"out": fmt.Sprintf("f%04d.bin", i)}, -1); err != nil {
			b.Fatal(err)
		}
	}
	m := q.Methods(nil)["aria2.tellActive"]
	b.ResetTimer()
	for b.Loop() {
		res, err := m(context.Background(), nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(res); err != nil {
			b.Fatal(err)
		}
	}
}
