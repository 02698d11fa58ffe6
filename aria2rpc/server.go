package aria2rpc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/coder/websocket"
)

// DefaultMaxRequestBytes bounds a request body and a WebSocket message, as
// aria2's --rpc-max-request-size (2M) does.
const DefaultMaxRequestBytes = 2 << 20

// Options configure a Server.
type Options struct {
	// Methods are the aria2.* methods served; the system.* ones are the
	// Server's own.
	Methods Methods
	// Secret is the token every aria2.* call must carry ("token:SECRET"
	// as its first parameter); empty means none is asked for.
	Secret string
	// AllowOriginAll answers with Access-Control-Allow-Origin: * and
	// accepts WebSocket connections from pages of any origin (aria2's
	// --rpc-allow-origin-all). Without it a browser page of another origin
	// cannot read the answers nor open the WebSocket.
	AllowOriginAll bool
	// MaxRequestBytes bounds a request body and a WebSocket message; zero
	// means DefaultMaxRequestBytes.
	MaxRequestBytes int64
}

// Server answers aria2's JSON-RPC on /jsonrpc and sends notifications to
// its WebSocket clients. It is an http.Handler.
type Server struct {
	d     dispatcher
	opts  Options
	mu    sync.Mutex
	conns map[*wsConn]struct{}
}

// wsConn is one WebSocket client. Its writes are serialised by mu, and a
// notification that comes while one of its calls is being answered is held
// until the answer is written: aria2c answers a call before it tells of
// what the call started (addUri's answer, then onDownloadStart), and a
// client that learns a gid from the answer and only then listens for it
// (arigo's Download, for one) must not find the notification gone by.
type wsConn struct {
	c    *websocket.Conn
	mu   sync.Mutex
	busy bool     // a call of this connection is being answered
	held [][]byte // notifications that came meanwhile, in order
}

// notify writes msg, or holds it while a call is being answered.
func (w *wsConn) notify(ctx context.Context, msg []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.busy {
		w.held = append(w.held, msg)
		return nil
	}
	return w.c.Write(ctx, websocket.MessageText, msg)
}

// answer runs handle as a call of this connection, writes its answer and
// then the notifications held meanwhile.
func (w *wsConn) answer(ctx context.Context, handle func() []byte) error {
	w.mu.Lock()
	w.busy = true
	w.mu.Unlock()
	msg := handle()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.busy = false
	held := w.held
	w.held = nil
	if err := w.c.Write(ctx, websocket.MessageText, msg); err != nil {
		return err
	}
	for _, n := range held {
		if err := w.c.Write(ctx, websocket.MessageText, n); err != nil {
			return err
		}
	}
	return nil
}

// NewServer returns a Server for opts.
func NewServer(opts Options) *Server {
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	return &Server{
		d:     dispatcher{methods: opts.Methods, secret: opts.Secret},
		opts:  opts,
		conns: make(map[*wsConn]struct{}),
	}
}

// callbackName is what a JSONP callback may be: a JavaScript name, so
// that nothing else can be injected into the answer.
var callbackName = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$.]{0,127}$`)

// ServeHTTP answers /jsonrpc: POST, GET (params in base64, JSONP through
// jsoncallback), OPTIONS (CORS preflight) and a WebSocket upgrade.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/jsonrpc" {
		http.NotFound(w, r)
		return
	}
	if s.opts.AllowOriginAll {
		w.Header().Set("Access-Control-Allow-Origin", "*")
	}
	switch {
	case r.Method == http.MethodGet && websocketUpgrade(r):
		s.serveWebSocket(w, r)
	case r.Method == http.MethodOptions:
		if s.opts.AllowOriginAll {
			w.Header().Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
			if h := r.Header.Get("Access-Control-Request-Headers"); h != "" {
				w.Header().Set("Access-Control-Allow-Headers", h)
			}
			w.Header().Set("Access-Control-Max-Age", "1728000")
		}
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodPost:
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read the request", http.StatusBadRequest)
			return
		}
		s.write(w, s.d.handle(r.Context(), body), "")
	case r.Method == http.MethodGet:
		s.serveGet(w, r)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// serveGet answers GET /jsonrpc?method=M&id=ID&params=BASE64: params is the
// base64 of the parameters' JSON array; without method, it is a batch.
func (s *Server) serveGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	callback := q.Get("jsoncallback")
	if callback != "" && !callbackName.MatchString(callback) {
		http.Error(w, "bad jsoncallback", http.StatusBadRequest)
		return
	}
	var params []byte
	if p := q.Get("params"); p != "" {
		if int64(len(p)) > s.opts.MaxRequestBytes {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		decoded, err := decodeBase64(p)
		if err != nil {
			s.write(w, encode(response{ID: nullID, JSONRPC: "2.0", Error: &Error{Code: CodeParseError, Message: "Parse error."}}), callback)
			return
		}
		params = decoded
	}
	var body []byte
	if method := q.Get("method"); method != "" {
		id := q.Get("id")
		idJSON, _ := json.Marshal(id)
		call := map[string]json.RawMessage{
			"jsonrpc": json.RawMessage(`"2.0"`),
			"method":  mustJSON(method),
			"id":      idJSON,
		}
		if params != nil {
			call["params"] = params
		}
		body, _ = json.Marshal(call)
	} else {
		body = params
	}
	s.write(w, s.d.handle(r.Context(), body), callback)
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// decodeBase64 accepts the padded and unpadded, standard and URL alphabets
// clients use.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("bad base64")
}

func (s *Server) write(w http.ResponseWriter, answer []byte, callback string) {
	if callback != "" {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write([]byte(callback + "("))
		_, _ = w.Write(answer)
		_, _ = w.Write([]byte(")"))
		return
	}
	w.Header().Set("Content-Type", "application/json-rpc")
	_, _ = w.Write(answer)
}

func websocketUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header.Values("Connection"), "upgrade") && headerHasToken(r.Header.Values("Upgrade"), "websocket")
}

func headerHasToken(values []string, token string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// serveWebSocket runs one WebSocket client: each text message is a call or
// a batch, answered in order; notifications come in between.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// A browser page of another origin may connect only when
		// --rpc-allow-origin-all says so; clients that are not browsers
		// send no Origin and are let in, as aria2 does.
		InsecureSkipVerify: s.opts.AllowOriginAll,
	})
	if err != nil {
		return
	}
	c.SetReadLimit(s.opts.MaxRequestBytes)
	conn := &wsConn{c: c}
	s.mu.Lock()
	s.conns[conn] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
		_ = c.CloseNow()
	}()
	ctx := r.Context()
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		if err := conn.answer(ctx, func() []byte { return s.d.handle(ctx, msg) }); err != nil {
			return
		}
	}
}

// Notify sends the notification method (NotifyStart, ...) about gid to
// every WebSocket client, as aria2 does: params [{"gid": gid}]. A client
// that does not take it within a few seconds is dropped by the write's
// deadline in ctx. A client whose call is being answered gets it after
// the answer.
func (s *Server) Notify(ctx context.Context, method, gid string) {
	msg, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0",
		"method":  method,
		"params":  []any{map[string]string{"gid": gid}},
	})
	s.mu.Lock()
	conns := make([]*wsConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		if err := c.notify(ctx, msg); err != nil {
			_ = c.c.CloseNow()
		}
	}
}

// CloseAll ends every WebSocket connection, for a shutdown.
func (s *Server) CloseAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.c.Close(websocket.StatusGoingAway, "shutdown")
	}
}
