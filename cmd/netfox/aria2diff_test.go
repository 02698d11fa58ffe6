package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	idaemon "github.com/netfox/netfox/internal/daemon"
)

// rpcPeer is one side of the differential test: aria2c or netfox daemon.
type rpcPeer struct {
	name string
	url  string
	dir  string // where it downloads
}

func (p rpcPeer) call(t *testing.T, method string, params ...any) (any, map[string]any) {
	t.Helper()
	if params == nil {
		params = []any{}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": "d", "method": method, "params": params})
	resp, err := http.Post(p.url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s %s: %v", p.name, method, err)
	}
	defer resp.Body.Close()
	var a struct {
		Result any            `json:"result"`
		Error  map[string]any `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("%s %s: %v", p.name, method, err)
	}
	return a.Result, a.Error
}

func (p rpcPeer) mustCall(t *testing.T, method string, params ...any) any {
	t.Helper()
	res, e := p.call(t, method, params...)
	if e != nil {
		t.Fatalf("%s %s: %v", p.name, method, e)
	}
	return res
}

func (p rpcPeer) waitStatus(t *testing.T, gid string, cond func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		// aria2c answers some changes (remove) a moment later: an error
		// on the way is not the end.
		res, _ := p.call(t, "aria2.tellStatus", "token:diff", gid)
		st, _ := res.(map[string]any)
		if st != nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s gid %s: last status %v", p.name, gid, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wsAddOrder sends addUri over p's WebSocket and returns what came back
// about the new download: "answer" for the call's answer, the method of
// a notification, until its onDownloadStart and the answer have both come
// (at most 10 messages); and the gid.
func wsAddOrder(t *testing.T, p rpcPeer, tok, uri string) ([]string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(p.url, "http"), nil)
	if err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	defer c.CloseNow()
	call, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": "w", "method": "aria2.addUri",
		"params": []any{tok, []string{uri}, map[string]string{"out": "w.bin"}}})
	if err := c.Write(ctx, websocket.MessageText, call); err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	type message struct{ what, gid string }
	var got []message
	var gid string
	started := func() bool { return slices.Contains(got, message{"aria2.onDownloadStart", gid}) }
	for len(got) < 10 && (gid == "" || !started()) {
		_, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("%s: %v (so far %v)", p.name, err, got)
		}
		var m struct {
			ID     string              `json:"id"`
			Method string              `json:"method"`
			Result json.RawMessage     `json:"result"`
			Params []map[string]string `json:"params"`
		}
		if err := json.Unmarshal(msg, &m); err != nil {
			t.Fatalf("%s: %q: %v", p.name, msg, err)
		}
		if m.ID == "w" {
			_ = json.Unmarshal(m.Result, &gid)
			got = append(got, message{"answer", gid})
		} else if len(m.Params) == 1 {
			got = append(got, message{m.Method, m.Params[0]["gid"]})
		}
	}
	// Notifications about other downloads (ended a moment ago) are left
	// out.
	var seq []string
	for _, m := range got {
		if m.gid == gid {
			seq = append(seq, m.what)
		}
	}
	return seq, gid
}

// shape is a value's keys with their JSON types, nested ones as
// key.sub:type, array elements as key[]; the values themselves are left
// out.
func shape(v any, prefix string, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			shape(e, prefix+k+".", out)
			out[prefix+k] = kind(e)
		}
	case []any:
		for _, e := range x {
			shape(e, strings.TrimSuffix(prefix, ".")+"[].", out)
		}
	}
}

func kind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "null"
}

func shapeOf(v any) map[string]string {
	out := map[string]string{}
	shape(v, "", out)
	return out
}

// keysOf lists a shape's keys for the table, nested ones as path.key and
// array elements as [].
func keysOf(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, " ")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startAria2c runs aria2c's RPC on a free loopback port, downloading into dir.
func startAria2c(t *testing.T, dir string) rpcPeer {
	t.Helper()
	path := idaemon.Find("aria2c")
	if path == "" {
		idaemon.Missing(t, "aria2c is not installed (apt-get install aria2)")
	}
	port := freePort(t)
	cmd := exec.Command(path, "--enable-rpc", "--rpc-listen-port", strconv.Itoa(port), "--dir", dir, "--no-conf", "--quiet",
		"--rpc-secret", "diff", "--max-concurrent-downloads", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	p := rpcPeer{name: "aria2c", url: fmt.Sprintf("http://127.0.0.1:%d/jsonrpc", port), dir: dir}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(p.url + "?method=system.listMethods&id=1"); err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatal("aria2c's RPC did not answer within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAria2Differential sends the same calls to aria2c --enable-rpc and to
// netfox daemon and compares the answers' key sets and value types: the
// shapes front ends written for aria2 read. Options are compared one way:
// every option netfox reports, aria2c reports too, as a string.
func TestAria2Differential(t *testing.T) {
	t.Parallel()
	srcDir := t.TempDir()
	data := content(3<<20, 31)
	if err := os.WriteFile(filepath.Join(srcDir, "f.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	url, _ := startServe(t, srcDir, 256<<10)
	aria := startAria2c(t, t.TempDir())
	foxDir := t.TempDir()
	nd := startDaemon(t, "--dir", foxDir, "--state", filepath.Join(t.TempDir(), "q.db"), "--rpc-secret", "diff", "-n", "2")
	fox := rpcPeer{name: "netfox", url: nd.url, dir: foxDir}
	peers := []rpcPeer{aria, fox}
	tok := "token:diff"

	type row struct{ method, aria, fox string }
	var table []row
	// same compares the shapes of the two answers exactly.
	same := func(method string, answers [2]any, ignore ...string) {
		t.Helper()
		a, f := shapeOf(answers[0]), shapeOf(answers[1])
		for _, k := range ignore {
			delete(a, k)
			delete(f, k)
		}
		ka, kf := keysOf(a), keysOf(f)
		if ka == "" {
			ka, kf = "("+kind(answers[0])+")", "("+kind(answers[1])+")"
		}
		table = append(table, row{method, ka, kf})
		for k, ka := range a {
			if kf, ok := f[k]; !ok {
				t.Errorf("%s: aria2c answers %s (%s), netfox does not", method, k, ka)
			} else if kf != ka {
				t.Errorf("%s: %s is a %s from aria2c, a %s from netfox", method, k, ka, kf)
			}
		}
		for k := range f {
			if _, ok := a[k]; !ok {
				t.Errorf("%s: netfox answers %s, aria2c does not", method, k)
			}
		}
	}
	// subset checks that every key of netfox's answer is aria2c's, with
	// its type.
	subset := func(method string, answers [2]any) {
		t.Helper()
		a, f := shapeOf(answers[0]), shapeOf(answers[1])
		table = append(table, row{method, fmt.Sprintf("(%d options)", len(a)), keysOf(f)})
		for k, kf := range f {
			if ka, ok := a[k]; !ok || ka != kf {
				t.Errorf("%s: netfox's %s (%s) is not aria2c's (%q)", method, k, kf, ka)
			}
		}
	}
	both := func(method string, params ...any) [2]any {
		t.Helper()
		return [2]any{aria.mustCall(t, method, params...), fox.mustCall(t, method, params...)}
	}

	same("aria2.getVersion", both("aria2.getVersion", tok))
	same("aria2.getSessionInfo", both("aria2.getSessionInfo", tok))
	same("aria2.getGlobalStat", both("aria2.getGlobalStat", tok))

	var gids, missing [2]string
	for i, p := range peers {
		gids[i] = p.mustCall(t, "aria2.addUri", tok, []string{url + "/f.bin"}, map[string]string{"out": "f.bin"}).(string)
		missing[i] = p.mustCall(t, "aria2.addUri", tok, []string{url + "/missing.bin"}).(string)
	}
	var active [2]any
	for i, p := range peers {
		active[i] = p.waitStatus(t, gids[i], func(st map[string]any) bool {
			return st["status"] == "active" && st["completedLength"] != "0" && st["bitfield"] != nil
		})
	}
	same("aria2.tellStatus (active)", active)
	var a2 [2]any
	for i, p := range peers {
		a2[i] = p.mustCall(t, "aria2.getUris", tok, gids[i])
	}
	same("aria2.getUris", a2)
	for i, p := range peers {
		a2[i] = p.mustCall(t, "aria2.getFiles", tok, gids[i])
	}
	same("aria2.getFiles", a2)
	for i, p := range peers {
		a2[i] = p.mustCall(t, "aria2.getServers", tok, gids[i])
	}
	same("aria2.getServers", a2)
	same("aria2.tellActive", both("aria2.tellActive", tok))
	for i, p := range peers {
		a2[i] = p.mustCall(t, "aria2.getOption", tok, gids[i])
	}
	subset("aria2.getOption", a2)
	subset("aria2.getGlobalOption", both("aria2.getGlobalOption", tok))

	// Errors: a 404 is errorCode 3 on both.
	var failed [2]any
	for i, p := range peers {
		failed[i] = p.waitStatus(t, missing[i], func(st map[string]any) bool { return st["status"] == "error" })
		if code := failed[i].(map[string]any)["errorCode"]; code != "3" {
			t.Errorf("%s: 404 has errorCode %v, want 3", p.name, code)
		}
	}
	same("aria2.tellStatus (error)", failed)

	// Pause, the waiting list, unpause.
	for i, p := range peers {
		a2[i] = p.mustCall(t, "aria2.pause", tok, gids[i])
		if a2[i] != gids[i] {
			t.Errorf("%s: pause answered %v, want the gid", p.name, a2[i])
		}
	}
	var paused [2]any
	for i, p := range peers {
		paused[i] = p.waitStatus(t, gids[i], func(st map[string]any) bool { return st["status"] == "paused" })
	}
	same("aria2.tellStatus (paused)", paused)
	same("aria2.tellWaiting", both("aria2.tellWaiting", tok, 0, 10))
	for i, p := range peers {
		p.mustCall(t, "aria2.unpause", tok, gids[i])
	}
	var complete [2]any
	for i, p := range peers {
		complete[i] = p.waitStatus(t, gids[i], func(st map[string]any) bool { return st["status"] == "complete" })
	}
	same("aria2.tellStatus (complete)", complete)

	// On a running download: changeOption of max-download-limit (live on
	// both), changeUri adding a mirror ([deleted, added] as numbers),
	// getServers; then to its end.
	var changed, uriCounts, servers [2]any
	for i, p := range peers {
		gid := p.mustCall(t, "aria2.addUri", tok, []string{url + "/f.bin"}, map[string]any{"out": "c.bin", "max-download-limit": "512K", "header": []string{"X-A: 1"}}).(string)
		p.waitStatus(t, gid, func(st map[string]any) bool { return st["status"] == "active" && st["totalLength"] != "0" })
		changed[i] = p.mustCall(t, "aria2.changeOption", tok, gid, map[string]string{"max-download-limit": "0"})
		uriCounts[i] = p.mustCall(t, "aria2.changeUri", tok, gid, 1, []string{}, []string{url + "/f.bin?mirror"})
		if !slices.Equal(uriCounts[i].([]any), []any{0.0, 1.0}) {
			t.Errorf("%s: changeUri answered %v, want [0 1]", p.name, uriCounts[i])
		}
		servers[i] = p.mustCall(t, "aria2.getServers", tok, gid)
		p.waitStatus(t, gid, func(st map[string]any) bool { return st["status"] == "complete" })
		if got, err := os.ReadFile(filepath.Join(p.dir, "c.bin")); err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: c.bin is not the served file (%v)", p.name, err)
		}
	}
	same("aria2.changeOption", changed)
	same("aria2.changeUri", uriCounts)
	same("aria2.getServers (after changeUri)", servers)

	// The queue: changePosition (a number), pauseAll/unpauseAll ("OK"),
	// forceRemove (the gid).
	var moved, pausedAll, unpausedAll, forced [2]any
	for i, p := range peers {
		first := p.mustCall(t, "aria2.addUri", tok, []string{url + "/f.bin"}, map[string]string{"out": "q1.bin", "pause": "true"}).(string)
		second := p.mustCall(t, "aria2.addUri", tok, []string{url + "/f.bin"}, map[string]string{"out": "q2.bin", "pause": "true"}).(string)
		moved[i] = p.mustCall(t, "aria2.changePosition", tok, second, 0, "POS_SET")
		if moved[i] != 0.0 {
			t.Errorf("%s: changePosition answered %v, want 0", p.name, moved[i])
		}
		pausedAll[i] = p.mustCall(t, "aria2.pauseAll", tok)
		unpausedAll[i] = p.mustCall(t, "aria2.unpauseAll", tok)
		forced[i] = p.mustCall(t, "aria2.forceRemove", tok, second)
		p.mustCall(t, "aria2.forceRemove", tok, first)
	}
	same("aria2.changePosition", moved)
	same("aria2.pauseAll", pausedAll)
	same("aria2.unpauseAll", unpausedAll)
	same("aria2.forceRemove", forced)

	// Over the WebSocket, addUri's answer comes before onDownloadStart.
	var order [2]any
	for i, p := range peers {
		seq, gid := wsAddOrder(t, p, tok, url+"/f.bin")
		order[i] = seq
		if len(seq) < 2 || seq[0] != "answer" || seq[1] != "aria2.onDownloadStart" {
			t.Errorf("%s: over the WebSocket, addUri gave %v, want its answer, then aria2.onDownloadStart", p.name, seq)
		}
		p.mustCall(t, "aria2.forceRemove", tok, gid)
	}
	table = append(table, row{"WebSocket: addUri then", fmt.Sprint(order[0]), fmt.Sprint(order[1])})

	// Remove a running download: a removed result. A paused one that
	// never ran is forgotten.
	for i, p := range peers {
		gid := p.mustCall(t, "aria2.addUri", tok, []string{url + "/f.bin"}, map[string]string{"out": "r.bin"}).(string)
		// Removed once its length is known: aria2c answers a bitfield
		// only from then on, and so does netfox.
		p.waitStatus(t, gid, func(st map[string]any) bool {
			return st["status"] == "active" && st["totalLength"] != "0"
		})
		p.mustCall(t, "aria2.remove", tok, gid)
		a2[i] = p.waitStatus(t, gid, func(st map[string]any) bool { return st["status"] == "removed" })
		if code := a2[i].(map[string]any)["errorCode"]; code != "31" {
			t.Errorf("%s: removed download has errorCode %v, want 31", p.name, code)
		}
		never := p.mustCall(t, "aria2.addUri", tok, []string{url + "/f.bin"}, map[string]string{"out": "n.bin", "pause": "true"}).(string)
		p.mustCall(t, "aria2.remove", tok, never)
		if _, e := p.call(t, "aria2.tellStatus", tok, never); e == nil {
			t.Errorf("%s: a paused download removed before it ran is still known", p.name)
		}
	}
	same("aria2.tellStatus (removed)", a2)
	same("aria2.tellStopped", both("aria2.tellStopped", tok, 0, 10))
	same("system.multicall", both("system.multicall", []any{
		map[string]any{"methodName": "aria2.getGlobalStat", "params": []any{tok}},
		map[string]any{"methodName": "aria2.tellStatus", "params": []any{tok, "0000000000000001"}},
	}))
	same("aria2.changeGlobalOption", both("aria2.changeGlobalOption", tok, map[string]string{"max-concurrent-downloads": "3"}))
	same("aria2.purgeDownloadResult", both("aria2.purgeDownloadResult", tok))

	// The error answers: an unknown gid, a wrong token.
	for _, c := range []struct {
		method string
		params []any
	}{
		{"aria2.tellStatus", []any{tok, "0000000000000001"}},
		{"aria2.getVersion", []any{"token:wrong"}},
		{"aria2.addTorrent", []any{tok, "AAAA"}},
	} {
		var errs [2]any
		for i, p := range peers {
			_, e := p.call(t, c.method, c.params...)
			if e == nil {
				t.Fatalf("%s %s: no error", p.name, c.method)
			}
			errs[i] = e
		}
		same(c.method+" (error)", errs)
	}
	aMethods := aria.mustCall(t, "system.listMethods").([]any)
	fMethods := fox.mustCall(t, "system.listMethods").([]any)
	for _, m := range aMethods {
		if !slices.Contains(fMethods, m) {
			t.Errorf("system.listMethods: netfox lacks %v", m)
		}
	}

	var b strings.Builder
	b.WriteString("| method | aria2c keys | netfox keys |\n| --- | --- | --- |\n")
	for _, r := range table {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.method, r.aria, r.fox)
	}
	t.Logf("differential table:\n%s", b.String())
	if out := os.Getenv("NETFOX_DIFF_TABLE"); out != "" {
		_ = os.WriteFile(out, []byte(b.String()), 0o644)
	}
}
