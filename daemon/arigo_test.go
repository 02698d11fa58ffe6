package daemon

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cenkalti/rpc2"
	"github.com/cenkalti/rpc2/jsonrpc"
	"github.com/gorilla/websocket"
	"github.com/netfox/netfox/internal/testserver"
	"github.com/siku2/arigo"
)

// TestArigoClient drives the daemon with the Go client
// github.com/siku2/arigo v0.2.0 over its WebSocket: addUri, tellStatus,
// pause, unpause, remove, getGlobalStat, the global options and
// tellStopped go through arigo's own calls, so every answer must decode
// into arigo's types (numbers as strings, options with their types).
//
// Notifications: arigo v0.2.0 cannot deliver them to its users, against
// aria2c as against netfox. NewClient binds its rpc2 handlers to a local
// Client value and returns a copy of it, so Client.Subscribe (and
// WaitForDownload and Download, built on it) register on the copy while
// the handlers dispatch on the original: Download never returns (checked
// against aria2c 1.36: the download completes, aria2c sends
// onDownloadComplete, Download still waits). The notifications are
// therefore read here by the transport arigo is built on (cenkalti/rpc2's
// JSON-RPC codec over gorilla/websocket, as arigo.Dial sets it up) on a
// second connection, decoded into arigo.DownloadEvent.
func TestArigoClient(t *testing.T) {
	content := randomBytes(2<<20 + 5)
	srv := testserver.New(t, content)
	slow := testserver.New(t, content, testserver.RatePerResponse(256<<10))
	missing := testserver.New(t, content, testserver.Status(404, 1000, ""))
	h := newHarness(t, Options{})
	wsURL := "ws" + strings.TrimPrefix(h.url, "http")
	events := dialEvents(t, wsURL)
	client, err := arigo.Dial(wsURL, "tok")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	// A download to its end.
	gid, err := client.AddURI(arigo.URIs(srv.FileURL), &arigo.Options{Out: "g.bin"})
	if err != nil {
		t.Fatal(err)
	}
	events.wait(t, "aria2.onDownloadComplete", gid.GID)
	st, err := gid.TellStatus()
	if err != nil {
		t.Fatal(err)
	}
	// arigo's constant for it is "completed"; aria2 and netfox say "complete".
	if st.Status != "complete" || st.TotalLength != uint(len(content)) || st.CompletedLength != st.TotalLength || st.NumPieces != 3 || st.BitField != "e0" || st.ErrorCode != arigo.Success {
		t.Fatalf("status %+v", st)
	}
	if len(st.Files) != 1 || len(st.Files[0].URIs) != 1 || st.Files[0].URIs[0].URI != srv.FileURL || st.Files[0].Path != filepath.Join(h.dir, "g.bin") {
		t.Fatalf("files %+v", st.Files)
	}
	sameFile(t, filepath.Join(h.dir, "g.bin"), content)

	// Pause while it runs, unpause, to its end.
	paused, err := client.AddURI(arigo.URIs(slow.FileURL), &arigo.Options{Out: "p.bin"})
	if err != nil {
		t.Fatal(err)
	}
	events.wait(t, "aria2.onDownloadStart", paused.GID)
	h.waitWritten(paused.GID)
	if err := paused.Pause(); err != nil {
		t.Fatal(err)
	}
	events.wait(t, "aria2.onDownloadPause", paused.GID)
	st, err = paused.TellStatus("status", "completedLength", "totalLength")
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != arigo.StatusPaused || st.CompletedLength == 0 || st.TotalLength != uint(len(content)) {
		t.Fatalf("paused: %+v", st)
	}
	if err := paused.Unpause(); err != nil {
		t.Fatal(err)
	}
	events.wait(t, "aria2.onDownloadComplete", paused.GID)
	sameFile(t, filepath.Join(h.dir, "p.bin"), content)

	// Remove while it runs.
	removed, err := client.AddURI(arigo.URIs(slow.FileURL), &arigo.Options{Out: "r.bin"})
	if err != nil {
		t.Fatal(err)
	}
	events.wait(t, "aria2.onDownloadStart", removed.GID)
	if err := removed.Remove(); err != nil {
		t.Fatal(err)
	}
	events.wait(t, "aria2.onDownloadStop", removed.GID)
	if st, err = removed.TellStatus("status"); err != nil || st.Status != arigo.StatusRemoved {
		t.Fatalf("removed: %+v, %v", st, err)
	}

	// A 404: error, with aria2's code 3.
	bad, err := client.AddURI(arigo.URIs(missing.FileURL), nil)
	if err != nil {
		t.Fatal(err)
	}
	events.wait(t, "aria2.onDownloadError", bad.GID)
	st, err = bad.TellStatus("status", "errorCode", "errorMessage")
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != arigo.StatusError || st.ErrorCode != arigo.ResourceNotFound || st.ErrorMessage == "" {
		t.Fatalf("404: %+v", st)
	}

	stats, err := client.GetGlobalStats()
	if err != nil {
		t.Fatal(err)
	}
	if stats.NumStopped != 4 || stats.NumActive != 0 || stats.NumWaiting != 0 {
		t.Fatalf("stats %+v", stats)
	}
	if err := client.ChangeGlobalOptions(arigo.Options{MaxDownloadLimit: 1 << 20, Split: 3}); err != nil {
		t.Fatal(err)
	}
	opts, err := client.GetGlobalOptions()
	if err != nil {
		t.Fatal(err)
	}
	if opts.MaxDownloadLimit != 1<<20 || opts.Split != 3 || opts.Dir != h.dir {
		t.Fatalf("global options %+v", opts)
	}
	stopped, err := client.TellStopped(-1, 1, "gid")
	if err != nil {
		t.Fatal(err)
	}
	if len(stopped) != 1 || stopped[0].GID != bad.GID {
		t.Fatalf("tellStopped(-1, 1) %+v, want %s", stopped, bad.GID)
	}
}

// arigoEvents receives the daemon's notifications through rpc2's JSON-RPC
// codec over gorilla/websocket, the stack arigo.Dial builds.
type arigoEvents struct {
	ch   chan arigoEvent
	seen map[arigoEvent]bool
}

type arigoEvent struct{ method, gid string }

func dialEvents(t *testing.T, url string) *arigoEvents {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &arigoEvents{ch: make(chan arigoEvent, 100), seen: make(map[arigoEvent]bool)}
	c := rpc2.NewClientWithCodec(jsonrpc.NewJSONCodec(&wsStream{ws: ws}))
	for _, m := range []string{"aria2.onDownloadStart", "aria2.onDownloadPause", "aria2.onDownloadStop", "aria2.onDownloadComplete", "aria2.onDownloadError"} {
		c.Handle(m, func(_ *rpc2.Client, ev *arigo.DownloadEvent, _ *any) error {
			e.ch <- arigoEvent{method: m, gid: ev.GID}
			return nil
		})
	}
	go c.Run()
	t.Cleanup(func() { _ = c.Close() })
	return e
}

// wait waits for method about gid, failing after 30 s.
func (e *arigoEvents) wait(t *testing.T, method, gid string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for want := (arigoEvent{method: method, gid: gid}); !e.seen[want]; {
		select {
		case ev := <-e.ch:
			e.seen[ev] = true
		case <-timeout:
			t.Fatalf("arigo: no %s for %s", method, gid)
		}
	}
}

// wsStream is a WebSocket as the byte stream rpc2's codec reads and
// writes: a message per write, messages read one after another (arigo's
// internal wsrpc.ReadWriteCloser does the same).
type wsStream struct {
	ws *websocket.Conn
	r  io.Reader
}

func (s *wsStream) Read(p []byte) (int, error) {
	for {
		if s.r == nil {
			_, r, err := s.ws.NextReader()
			if err != nil {
				return 0, err
			}
			s.r = r
		}
		n, err := s.r.Read(p)
		if err == io.EOF {
			s.r = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

func (s *wsStream) Write(p []byte) (int, error) {
	if err := s.ws.WriteMessage(websocket.TextMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (s *wsStream) Close() error { return s.ws.Close() }
