// Package aria2rpc speaks aria2's JSON-RPC 2.0, as aria2c 1.36 answers it,
// so that the front ends written for aria2 (AriaNg, webui-aria2, browser
// extensions, scripts) can drive another download queue: HTTP POST on
// /jsonrpc, GET /jsonrpc?method=&id=&params=<base64> (with JSONP through
// jsoncallback), batch requests, system.multicall, and a WebSocket on the
// same path that carries both calls and the aria2.onDownload*
// notifications.
//
// The package knows the protocol and nothing of downloads: a Server calls
// the Methods it is given with their parameters, the secret token already
// checked and removed, and encodes what they return. The token is checked
// as aria2 does: a first parameter that is a string starting with "token:"
// is always taken off the list; when a secret is set it must match
// (compared in constant time); the system.* methods ask for none.
package aria2rpc

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Error is an answer's error object. aria2 answers every failure of a
// method with code 1 and a message; the negative codes are JSON-RPC's own.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("aria2rpc: %d %s", e.Code, e.Message) }

// The JSON-RPC error codes aria2 uses.
const (
	CodeMethodFailed   = 1
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
)

// Failed returns the error a method answers with: code 1 and msg, as aria2.
func Failed(format string, args ...any) *Error {
	return &Error{Code: CodeMethodFailed, Message: fmt.Sprintf(format, args...)}
}

// ErrUnauthorized is the answer to a wrong or missing token.
var ErrUnauthorized = &Error{Code: CodeMethodFailed, Message: "Unauthorized"}

// Method is one RPC method. params are the call's parameters, the token
// removed. It returns the result to encode, or an error: an *Error is sent
// as it is, any other error as code 1 with its text.
type Method func(ctx context.Context, params []json.RawMessage) (any, error)

// Methods maps a method's full name (aria2.addUri) to its code.
type Methods map[string]Method

// request is one JSON-RPC call.
type request struct {
	JSONRPC string            `json:"jsonrpc"`
	ID      json.RawMessage   `json:"id"`
	Method  string            `json:"method"`
	Params  []json.RawMessage `json:"params"`
}

// response is one answer; aria2 always sends id (null when unknown) and
// jsonrpc, then result or error.
type response struct {
	ID      json.RawMessage `json:"id"`
	JSONRPC string          `json:"jsonrpc"`
	Result  any             `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

var nullID = json.RawMessage("null")

// dispatcher runs calls against a method table with a secret.
type dispatcher struct {
	methods Methods
	secret  string
}

// authorize takes the token off params as aria2 does and checks it.
func (d *dispatcher) authorize(params []json.RawMessage) ([]json.RawMessage, error) {
	var token string
	if len(params) > 0 {
		var s string
		if json.Unmarshal(params[0], &s) == nil && strings.HasPrefix(s, "token:") {
			token = strings.TrimPrefix(s, "token:")
			params = params[1:]
		}
	}
	if !TokenValid(d.secret, token) {
		return nil, ErrUnauthorized
	}
	return params, nil
}

// TokenValid reports whether token opens a server whose secret is secret:
// any token when no secret is set, else an equal one, compared in
// constant time.
func TokenValid(secret, token string) bool {
	if secret == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(secret), []byte(token)) == 1
}

// call runs one method by name.
func (d *dispatcher) call(ctx context.Context, name string, params []json.RawMessage) (any, *Error) {
	switch name {
	case "system.multicall":
		return d.multicall(ctx, params)
	case "system.listMethods":
		return d.listMethods(), nil
	case "system.listNotifications":
		return notifications, nil
	}
	m, ok := d.methods[name]
	if !ok {
		return nil, Failed("No such method: %s", name)
	}
	params, err := d.authorize(params)
	if err != nil {
		return nil, asError(err)
	}
	res, err := m(ctx, params)
	if err != nil {
		return nil, asError(err)
	}
	return res, nil
}

func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Failed("%s", err.Error())
}

// multicall runs system.multicall: each call's result wrapped in a
// one-element array, or its error object, in order.
func (d *dispatcher) multicall(ctx context.Context, params []json.RawMessage) (any, *Error) {
	if len(params) != 1 {
		return nil, Failed("The parameter must be an array of structs")
	}
	var calls []struct {
		MethodName string            `json:"methodName"`
		Params     []json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(params[0], &calls); err != nil {
		return nil, Failed("The parameter must be an array of structs")
	}
	out := make([]any, 0, len(calls))
	for _, c := range calls {
		if c.MethodName == "system.multicall" {
			out = append(out, Failed("Recursive system.multicall forbidden."))
			continue
		}
		res, err := d.call(ctx, c.MethodName, c.Params)
		if err != nil {
			out = append(out, err)
			continue
		}
		out = append(out, []any{res})
	}
	return out, nil
}

func (d *dispatcher) listMethods() []string {
	names := []string{"system.multicall", "system.listMethods", "system.listNotifications"}
	for name := range d.methods {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// notifications are the events a WebSocket client is sent.
var notifications = []string{
	NotifyStart, NotifyPause, NotifyStop, NotifyComplete, NotifyError, NotifyBtComplete,
}

// The notifications, as aria2 names them.
const (
	NotifyStart      = "aria2.onDownloadStart"
	NotifyPause      = "aria2.onDownloadPause"
	NotifyStop       = "aria2.onDownloadStop"
	NotifyComplete   = "aria2.onDownloadComplete"
	NotifyError      = "aria2.onDownloadError"
	NotifyBtComplete = "aria2.onBtDownloadComplete"
)

// handle answers one request body: a single call or a batch. It returns
// the encoded answer.
func (d *dispatcher) handle(ctx context.Context, body []byte) []byte {
	trimmed := strings.TrimLeft(string(body), " \t\r\n")
	if strings.HasPrefix(trimmed, "[") {
		var batch []json.RawMessage
		if err := json.Unmarshal(body, &batch); err != nil {
			return encode(response{ID: nullID, JSONRPC: "2.0", Error: &Error{Code: CodeParseError, Message: "Parse error."}})
		}
		out := make([]response, 0, len(batch))
		for _, raw := range batch {
			out = append(out, d.one(ctx, raw))
		}
		return encode(out)
	}
	return encode(d.one(ctx, body))
}

// one answers one call.
func (d *dispatcher) one(ctx context.Context, raw []byte) response {
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		var probe any
		if json.Unmarshal(raw, &probe) != nil {
			return response{ID: nullID, JSONRPC: "2.0", Error: &Error{Code: CodeParseError, Message: "Parse error."}}
		}
		return response{ID: nullID, JSONRPC: "2.0", Error: &Error{Code: CodeInvalidRequest, Message: "Invalid Request."}}
	}
	id := req.ID
	if len(id) == 0 {
		id = nullID
	}
	if req.Method == "" {
		return response{ID: id, JSONRPC: "2.0", Error: &Error{Code: CodeInvalidRequest, Message: "Invalid Request."}}
	}
	res, err := d.call(ctx, req.Method, req.Params)
	if err != nil {
		return response{ID: id, JSONRPC: "2.0", Error: err}
	}
	if res == nil {
		res = "OK"
	}
	return response{ID: id, JSONRPC: "2.0", Result: res}
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(response{ID: nullID, JSONRPC: "2.0", Error: Failed("cannot encode the answer: %v", err)})
	}
	return b
}
