// Package wan puts a simulated wide-area link in front of a loopback
// server, for tests and benchmarks: toxiproxy (github.com/Shopify/toxiproxy/v2)
// runs in process and gives every TCP connection through it its own
// latency and bandwidth, the shape of a real path to a CDN, which caps
// each connection rather than the host.
//
// Only loopback addresses are used: the proxy listens on 127.0.0.1 on a
// free port and forwards to the upstream address it is given.
package wan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Link is what each TCP connection through the proxy experiences.
type Link struct {
	// Latency is added to every chunk sent to the client (downstream),
	// so a request's answer arrives this much later.
	Latency time.Duration
	// Bandwidth caps each connection's downstream at this many bytes per
	// second; zero means no cap. toxiproxy counts in KB (1000 bytes).
	Bandwidth int64
	// Silent, between 0 and 1, is the share of connections that never
	// send anything back (toxiproxy's timeout toxic with timeout 0): the
	// "stuck at 99%" connection.
	Silent float64
	// SilentAfter, with Silent, lets a silent connection pass this many
	// bytes of the server's answer first (its headers and the start of
	// the body): a connection that stops in mid-body and stays open.
	SilentAfter int64
}

// Proxy is a running link.
type Proxy struct {
	// Addr is the host:port to connect to instead of the upstream.
	Addr  string
	proxy *toxiproxy.Proxy
}

// Start starts a proxy to upstream (host:port on loopback) with link's
// toxics and stops it when the test ends.
func Start(t testing.TB, upstream string, link Link) *Proxy {
	t.Helper()
	p, err := StartProcess(upstream, link)
	if err != nil {
		t.Fatalf("wan: %v", err)
	}
	t.Cleanup(p.Stop)
	return p
}

// StartProcess is Start without testing.TB, for benchmark commands. Stop
// the proxy with Stop.
func StartProcess(upstream string, link Link) (*Proxy, error) {
	logger := zerolog.New(io.Discard)
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), logger)
	px := toxiproxy.NewProxy(server, "wan", "127.0.0.1:0", upstream)
	if err := px.Start(); err != nil {
		return nil, fmt.Errorf("starting proxy to %s: %w", upstream, err)
	}
	var toxics []map[string]any
	if link.Latency > 0 {
		toxics = append(toxics, toxic("latency", 1, map[string]any{"latency": link.Latency.Milliseconds()}))
	}
	if link.Bandwidth > 0 {
		toxics = append(toxics, toxic("bandwidth", 1, map[string]any{"rate": max(link.Bandwidth/1000, 1)}))
	}
	switch {
	case link.Silent > 0 && link.SilentAfter > 0:
		toxics = append(toxics, toxic(silentAfterType, float32(link.Silent), map[string]any{"bytes": link.SilentAfter}))
	case link.Silent > 0:
		toxics = append(toxics, toxic("timeout", float32(link.Silent), map[string]any{"timeout": 0}))
	}
	for _, tx := range toxics {
		body, _ := json.Marshal(tx)
		if _, err := px.Toxics.AddToxicJson(bytes.NewReader(body)); err != nil {
			px.Stop()
			return nil, fmt.Errorf("adding toxic %s: %w", tx["type"], err)
		}
	}
	addr := px.Listen
	if _, _, err := net.SplitHostPort(addr); err != nil {
		px.Stop()
		return nil, fmt.Errorf("proxy listens on %q: %w", addr, err)
	}
	return &Proxy{Addr: addr, proxy: px}, nil
}

func toxic(kind string, toxicity float32, attrs map[string]any) map[string]any {
	return map[string]any{"type": kind, "name": kind, "stream": "downstream", "toxicity": toxicity, "attributes": attrs}
}

// Stop closes the proxy and every connection through it.
func (p *Proxy) Stop() { p.proxy.Stop() }

// silentAfterType names silentAfterToxic in toxiproxy's registry.
const silentAfterType = "netfox_silent_after"

// silentAfterToxic passes the first Bytes bytes of a connection, then
// drops everything and keeps the connection open: toxiproxy's limit_data
// without the close, its timeout toxic after a start.
type silentAfterToxic struct {
	Bytes int64 `json:"bytes"`
}

type silentAfterState struct{ passed int64 }

func (t *silentAfterToxic) NewState() any { return new(silentAfterState) }

func (t *silentAfterToxic) Pipe(stub *toxics.ToxicStub) {
	state := stub.State.(*silentAfterState)
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			if left := t.Bytes - state.passed; left > 0 {
				data := c.Data[:min(int64(len(c.Data)), left)]
				state.passed += int64(len(data))
				stub.Output <- &stream.StreamChunk{Data: data, Timestamp: c.Timestamp}
			}
			// The rest is dropped, as on a path that went dead.
		}
	}
}

// toxiproxy finds toxics by name in its own registry, filled by init
// functions (its own toxics register the same way).
func init() { toxics.Register(silentAfterType, new(silentAfterToxic)) }
