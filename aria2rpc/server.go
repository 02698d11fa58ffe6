package aria2rpc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

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
//
// A notification goes out after the answers of the calls that were being
// answered when it came (over HTTP or WebSocket): aria2c answers a call
// before it tells of what the call started (addUri's gid, then
// onDownloadStart), and a client that learns a gid from the answer and
// only then listens for it (arigo's Download, for one) must not find the
// notification gone by.
type Server struct {
	d    dispatcher
	opts Options

	mu       sync.Mutex
	conns    map[*websocket.Conn]struct{}
	inflight map[*inflightCall]struct{} // calls being answered
	pending  []notification             // not sent yet, in order
	wake     chan struct{}              // a notification is pending, or closing
	closed   bool
}

type inflightCall struct{ answered chan struct{} }

type notification struct {
	msg   []byte
	after []chan struct{} // the answers it waits for
}

// notifyTimeout bounds the write of a notification to one client; a
// client that does not take it in time is dropped.
const notifyTimeout = 5 * time.Second

// NewServer returns a Server for opts.
func NewServer(opts Options) *Server {
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	s := &Server{
		d:        dispatcher{methods: opts.Methods, secret: opts.Secret},
		opts:     opts,
		conns:    make(map[*websocket.Conn]struct{}),
		inflight: make(map[*inflightCall]struct{}),
		wake:     make(chan struct{}, 1),
	}
	go s.sendNotifications()
	return s
}

// answering marks a call as being answered; call the function it returns
// once the answer is written.
func (s *Server) answering() (answered func()) {
	c := &inflightCall{answered: make(chan struct{})}
	s.mu.Lock()
	s.inflight[c] = struct{}{}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.inflight, c)
		s.mu.Unlock()
		close(c.answered)
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
		answered := s.answering()
		defer answered()
		s.write(w, s.d.handle(r.Context(), body), "")
	case r.Method == http.MethodGet:
		answered := s.answering()
		defer answered()
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
	body := answer
	if callback != "" {
		w.Header().Set("Content-Type", "text/javascript")
		body = slices.Concat([]byte(callback+"("), answer, []byte(")"))
	} else {
		w.Header().Set("Content-Type", "application/json-rpc")
	}
	// Sent now, not when the handler returns: the notifications the call
	// caused wait for it (see Server).
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
	_ = http.NewResponseController(w).Flush()
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
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
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
		answered := s.answering()
		err = c.Write(ctx, websocket.MessageText, s.d.handle(ctx, msg))
		answered()
		if err != nil {
			return
		}
	}
}

// Notify sends the notification method (NotifyStart, ...) about gid to
// every WebSocket client, as aria2 does: params [{"gid": gid}]. It returns
// at once; the notification goes out in order, after the answers of the
// calls being answered now. A client that does not take it within
// notifyTimeout is dropped.
func (s *Server) Notify(method, gid string) {
	msg, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0",
		"method":  method,
		"params":  []any{map[string]string{"gid": gid}},
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	n := notification{msg: msg}
	for c := range s.inflight {
		n.after = append(n.after, c.answered)
	}
	s.pending = append(s.pending, n)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// sendNotifications sends the pending notifications, in order, each once
// the answers it waits for are written, until CloseAll.
func (s *Server) sendNotifications() {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		if len(s.pending) == 0 {
			s.mu.Unlock()
			<-s.wake
			continue
		}
		n := s.pending[0]
		s.pending = s.pending[1:]
		s.mu.Unlock()
		for _, answered := range n.after {
			<-answered
		}
		s.mu.Lock()
		conns := make([]*websocket.Conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		for _, c := range conns {
			ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
			if err := c.Write(ctx, websocket.MessageText, n.msg); err != nil {
				_ = c.CloseNow()
			}
			cancel()
		}
	}
}

// CloseAll ends every WebSocket connection, for a shutdown.
func (s *Server) CloseAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.pending = nil
		close(s.wake)
	}
	for c := range s.conns {
		_ = c.Close(websocket.StatusGoingAway, "shutdown")
	}
}
