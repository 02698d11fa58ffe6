package aria2rpc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// echoMethods: aria2.echo returns its parameters, aria2.fail fails.
func echoMethods() Methods {
	return Methods{
		"aria2.echo": func(_ context.Context, params []json.RawMessage) (any, error) {
			if params == nil {
				params = []json.RawMessage{}
			}
			return params, nil
		},
		"aria2.fail": func(context.Context, []json.RawMessage) (any, error) {
			return nil, errors.New("GID 0000000000000001 is not found")
		},
	}
}

func post(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes()
}

type answer struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *Error          `json:"error"`
}

func decodeAnswer(t *testing.T, b []byte) answer {
	t.Helper()
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("answer %q: %v", b, err)
	}
	return a
}

func TestPostTokenAndErrors(t *testing.T) {
	srv := httptest.NewServer(NewServer(Options{Methods: echoMethods(), Secret: "s3cret"}))
	defer srv.Close()
	url := srv.URL + "/jsonrpc"
	cases := []struct {
		name, body string
		code       int    // 0: a result
		result     string // the result's JSON when code is 0
	}{
		{"good token", `{"jsonrpc":"2.0","id":"a","method":"aria2.echo","params":["token:s3cret",1,"x"]}`, 0, `[1,"x"]`},
		{"wrong token", `{"jsonrpc":"2.0","id":"a","method":"aria2.echo","params":["token:nope",1]}`, 1, ""},
		{"longer token", `{"jsonrpc":"2.0","id":"a","method":"aria2.echo","params":["token:s3cret2"]}`, 1, ""},
		{"no token", `{"jsonrpc":"2.0","id":"a","method":"aria2.echo","params":[1]}`, 1, ""},
		{"system exempt", `{"jsonrpc":"2.0","id":"a","method":"system.listNotifications"}`, 0, `["aria2.onDownloadStart","aria2.onDownloadPause","aria2.onDownloadStop","aria2.onDownloadComplete","aria2.onDownloadError","aria2.onBtDownloadComplete"]`},
		{"unknown method", `{"jsonrpc":"2.0","id":"a","method":"aria2.nope"}`, 1, ""},
		{"method error", `{"jsonrpc":"2.0","id":"a","method":"aria2.fail","params":["token:s3cret"]}`, 1, ""},
		{"parse error", `garbage`, CodeParseError, ""},
		{"no method", `{"jsonrpc":"2.0","id":"a"}`, CodeInvalidRequest, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(t, url, c.body)
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			a := decodeAnswer(t, body)
			if c.code == 0 {
				if a.Error != nil || string(a.Result) != c.result {
					t.Fatalf("got %s, want result %s", body, c.result)
				}
				return
			}
			if a.Error == nil || a.Error.Code != c.code {
				t.Fatalf("got %s, want error code %d", body, c.code)
			}
		})
	}
}

func TestBatchAndMulticall(t *testing.T) {
	srv := httptest.NewServer(NewServer(Options{Methods: echoMethods(), Secret: "k"}))
	defer srv.Close()
	_, body := post(t, srv.URL+"/jsonrpc", `[{"jsonrpc":"2.0","id":1,"method":"aria2.echo","params":["token:k",7]},{"jsonrpc":"2.0","id":2,"method":"aria2.echo","params":["token:bad"]}]`)
	var batch []answer
	if err := json.Unmarshal(body, &batch); err != nil {
		t.Fatal(err)
	}
	if len(batch) != 2 || string(batch[0].ID) != "1" || string(batch[0].Result) != "[7]" || batch[1].Error == nil || batch[1].Error.Message != "Unauthorized" {
		t.Fatalf("batch answer %s", body)
	}
	// multicall itself needs no token; each call inside does.
	_, body = post(t, srv.URL+"/jsonrpc", `{"jsonrpc":"2.0","id":"m","method":"system.multicall","params":[[{"methodName":"aria2.echo","params":["token:k","a"]},{"methodName":"aria2.echo","params":["a"]},{"methodName":"system.multicall","params":[[]]}]]}`)
	a := decodeAnswer(t, body)
	var results []json.RawMessage
	if err := json.Unmarshal(a.Result, &results); err != nil || len(results) != 3 {
		t.Fatalf("multicall answer %s", body)
	}
	if string(results[0]) != `[["a"]]` {
		t.Fatalf("first call %s, want [[\"a\"]]", results[0])
	}
	for _, r := range results[1:] {
		var e Error
		if json.Unmarshal(r, &e) != nil || e.Code != 1 {
			t.Fatalf("call %s, want an error object", r)
		}
	}
}

func TestGetAndJSONP(t *testing.T) {
	srv := httptest.NewServer(NewServer(Options{Methods: echoMethods()}))
	defer srv.Close()
	params := base64.StdEncoding.EncodeToString([]byte(`[3,"y"]`))
	resp, err := http.Get(srv.URL + "/jsonrpc?method=aria2.echo&id=q&params=" + params)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	a := decodeAnswer(t, buf.Bytes())
	if string(a.ID) != `"q"` || string(a.Result) != `[3,"y"]` {
		t.Fatalf("GET answer %s", buf.Bytes())
	}
	resp, err = http.Get(srv.URL + "/jsonrpc?method=aria2.echo&id=q&jsoncallback=cb1&params=" + params)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	_, _ = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	got := buf.String()
	if !strings.HasPrefix(got, "cb1(") || !strings.HasSuffix(got, ")") {
		t.Fatalf("JSONP answer %q", got)
	}
	decodeAnswer(t, []byte(strings.TrimSuffix(strings.TrimPrefix(got, "cb1("), ")")))
	// A callback that is not a name could inject script: refused.
	resp, err = http.Get(srv.URL + "/jsonrpc?method=aria2.echo&id=q&jsoncallback=alert(1)//")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad callback: status %d, want 400", resp.StatusCode)
	}
}

func TestBodyBounded(t *testing.T) {
	srv := httptest.NewServer(NewServer(Options{Methods: echoMethods(), MaxRequestBytes: 1024}))
	defer srv.Close()
	big := `{"jsonrpc":"2.0","id":1,"method":"aria2.echo","params":["` + strings.Repeat("x", 2048) + `"]}`
	status, _ := post(t, srv.URL+"/jsonrpc", big)
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/jsonrpc", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte(big)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("read after a too big message: %v, want close status 1009", err)
	}
}

func TestCORS(t *testing.T) {
	for _, allow := range []bool{false, true} {
		srv := httptest.NewServer(NewServer(Options{Methods: echoMethods(), AllowOriginAll: allow}))
		req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/jsonrpc", nil)
		req.Header.Set("Origin", "http://ariang.example")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if (got == "*") != allow || (allow && resp.Header.Get("Access-Control-Allow-Headers") != "content-type") {
			t.Fatalf("allow=%v: headers %v", allow, resp.Header)
		}
		// A WebSocket from a page of another origin is refused unless allowed.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/jsonrpc", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://ariang.example"}}})
		if (err == nil) != allow {
			t.Fatalf("allow=%v: websocket from another origin: %v", allow, err)
		}
		if c != nil {
			c.CloseNow()
		}
		cancel()
		srv.Close()
	}
}

func TestWebSocketCallsAndNotify(t *testing.T) {
	s := NewServer(Options{Methods: echoMethods(), Secret: "k"})
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/jsonrpc", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"jsonrpc":"2.0","id":"w","method":"aria2.echo","params":["token:k",5]}`)); err != nil {
		t.Fatal(err)
	}
	_, msg, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a := decodeAnswer(t, msg); string(a.ID) != `"w"` || string(a.Result) != "[5]" {
		t.Fatalf("websocket answer %s", msg)
	}
	// The call above was answered, so the connection is registered.
	s.Notify(NotifyComplete, "2089b05ecca3d829")
	_, msg, err = c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n struct {
		Method string              `json:"method"`
		Params []map[string]string `json:"params"`
	}
	if err := json.Unmarshal(msg, &n); err != nil || n.Method != NotifyComplete || len(n.Params) != 1 || n.Params[0]["gid"] != "2089b05ecca3d829" {
		t.Fatalf("notification %s", msg)
	}
}

// TestWebSocketAnswerBeforeNotify: a notification sent while a call of the
// same connection is being answered comes after the answer, as aria2c
// sends addUri's answer before onDownloadStart (captured from aria2c 1.36:
// {"id":"1","jsonrpc":"2.0","result":"<gid>"} then
// {"jsonrpc":"2.0","method":"aria2.onDownloadStart","params":[{"gid":"<gid>"}]}).
func TestWebSocketAnswerBeforeNotify(t *testing.T) {
	var s *Server
	methods := Methods{
		"aria2.addUri": func(context.Context, []json.RawMessage) (any, error) {
			s.Notify(NotifyStart, "2089b05ecca3d829")
			return "2089b05ecca3d829", nil
		},
	}
	s = NewServer(Options{Methods: methods})
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/jsonrpc", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for i := range 3 {
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"jsonrpc":"2.0","id":"a","method":"aria2.addUri","params":[["http://x/"]]}`)); err != nil {
			t.Fatal(err)
		}
		want := []string{`{"id":"a","jsonrpc":"2.0","result":"2089b05ecca3d829"}`,
			`{"jsonrpc":"2.0","method":"aria2.onDownloadStart","params":[{"gid":"2089b05ecca3d829"}]}`}
		for _, w := range want {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if typ != websocket.MessageText || string(msg) != w {
				t.Fatalf("call %d: got %v %s, want text %s", i, typ, msg, w)
			}
		}
	}
}

// TestHTTPAnswerBeforeNotify: a notification caused by an HTTP call waits
// for that call's answer: while the call is held after notifying, the
// WebSocket client gets nothing; once the answer is out, it gets the
// notification.
func TestHTTPAnswerBeforeNotify(t *testing.T) {
	var s *Server
	notified, release := make(chan struct{}), make(chan struct{})
	methods := Methods{
		"aria2.addUri": func(context.Context, []json.RawMessage) (any, error) {
			s.Notify(NotifyStart, "2089b05ecca3d829")
			close(notified)
			<-release
			return "2089b05ecca3d829", nil
		},
		"aria2.echo": echoMethods()["aria2.echo"],
	}
	s = NewServer(Options{Methods: methods})
	srv := httptest.NewServer(s)
	defer srv.Close()
	defer s.CloseAll()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/jsonrpc", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// A call answered over the WebSocket: the connection is registered.
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"jsonrpc":"2.0","id":"e","method":"aria2.echo","params":[]}`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		_, msg, err := c.Read(ctx)
		if err != nil {
			msg = []byte(err.Error())
		}
		got <- string(msg)
	}()
	answer := make(chan []byte, 1)
	go func() {
		_, body := post(t, srv.URL+"/jsonrpc", `{"jsonrpc":"2.0","id":"h","method":"aria2.addUri","params":[["http://x/"]]}`)
		answer <- body
	}()
	<-notified
	select {
	case m := <-got:
		t.Fatalf("the WebSocket got %s while the call that caused it was unanswered", m)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if a := decodeAnswer(t, <-answer); string(a.Result) != `"2089b05ecca3d829"` {
		t.Fatalf("answer %+v", a)
	}
	if m := <-got; m != `{"jsonrpc":"2.0","method":"aria2.onDownloadStart","params":[{"gid":"2089b05ecca3d829"}]}` {
		t.Fatalf("notification %s", m)
	}
}

func TestTokenValid(t *testing.T) {
	cases := []struct {
		secret, token string
		want          bool
	}{
		{"", "", true}, {"", "anything", true}, {"a", "a", true}, {"a", "", false}, {"a", "b", false}, {"ab", "a", false},
	}
	for _, c := range cases {
		if got := TokenValid(c.secret, c.token); got != c.want {
			t.Errorf("TokenValid(%q, %q) = %v", c.secret, c.token, got)
		}
	}
}
