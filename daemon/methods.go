package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/aria2rpc"
	"github.com/netfox/netfox/siteinfo"
)

// Methods returns aria2's methods on q. shutdown is called (once the
// answer is on its way) by aria2.shutdown and aria2.forceShutdown.
func (q *Queue) Methods(shutdown func()) aria2rpc.Methods {
	var session [20]byte
	_, _ = rand.Read(session[:])
	sessionID := hex.EncodeToString(session[:])
	notSupported := func(what string) aria2rpc.Method {
		return func(context.Context, []json.RawMessage) (any, error) {
			return nil, aria2rpc.Failed("%s is not supported by netfox", what)
		}
	}
	m := aria2rpc.Methods{
		"aria2.addUri":        q.rpcAddURI,
		"aria2.addTorrent":    notSupported("BitTorrent (addTorrent)"),
		"aria2.addMetalink":   notSupported("Metalink (addMetalink)"),
		"aria2.changeUri":     q.rpcChangeURI,
		"aria2.remove":        q.gidCall(q.Remove),
		"aria2.forceRemove":   q.gidCall(q.Remove),
		"aria2.pause":         q.gidCall(q.Pause),
		"aria2.forcePause":    q.gidCall(q.Pause),
		"aria2.unpause":       q.gidCall(q.Unpause),
		"aria2.pauseAll":      q.allCall(q.PauseAll),
		"aria2.forcePauseAll": q.allCall(q.PauseAll),
		"aria2.unpauseAll":    q.allCall(q.UnpauseAll),
		"aria2.tellStatus":    q.rpcTellStatus,
		"aria2.getUris":       q.rpcGetURIs,
		"aria2.getFiles":      q.rpcGetFiles,
		"aria2.getPeers": func(_ context.Context, p []json.RawMessage) (any, error) {
			if _, err := q.lookup(p); err != nil {
				return nil, err
			}
			return []any{}, nil
		},
		"aria2.getServers":           q.rpcGetServers,
		"aria2.tellActive":           q.rpcTellActive,
		"aria2.tellWaiting":          q.rpcTellList(false),
		"aria2.tellStopped":          q.rpcTellList(true),
		"aria2.changePosition":       q.rpcChangePosition,
		"aria2.changeOption":         q.rpcChangeOption,
		"aria2.getOption":            q.rpcGetOption,
		"aria2.getGlobalOption":      q.rpcGetGlobalOption,
		"aria2.changeGlobalOption":   q.rpcChangeGlobalOption,
		"aria2.getGlobalStat":        q.rpcGetGlobalStat,
		"aria2.purgeDownloadResult":  q.allCall(q.Purge),
		"aria2.removeDownloadResult": q.gidCall(q.RemoveResult),
		"aria2.getVersion": func(context.Context, []json.RawMessage) (any, error) {
			// netfox's own version: a front end shows what it talks to.
			return map[string]any{"version": netfox.Version, "enabledFeatures": []string{"HTTPS", "Message Digest"}}, nil
		},
		"aria2.getSessionInfo": func(context.Context, []json.RawMessage) (any, error) {
			return map[string]string{"sessionId": sessionID}, nil
		},
		"aria2.saveSession": func(context.Context, []json.RawMessage) (any, error) {
			// Every change is in the database before its call answers.
			return "OK", nil
		},
	}
	stop := func(context.Context, []json.RawMessage) (any, error) {
		if shutdown != nil {
			shutdown()
		}
		return "OK", nil
	}
	m["aria2.shutdown"], m["aria2.forceShutdown"] = stop, stop
	return m
}

// rpcError turns the queue's errors into aria2's answer: code 1 and the
// message, as aria2 words the common ones.
func rpcError(err error) error {
	if err == nil {
		return nil
	}
	return aria2rpc.Failed("%s", strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(err.Error(), ErrNotFound.Error()+": "), ErrState.Error()+": "), ErrOption.Error()+": "))
}

func param[T any](params []json.RawMessage, i int, name string) (T, bool, error) {
	var v T
	if i >= len(params) {
		return v, false, nil
	}
	if err := json.Unmarshal(params[i], &v); err != nil {
		return v, false, aria2rpc.Failed("The parameter %s is of the wrong type", name)
	}
	return v, true, nil
}

func gidParam(params []json.RawMessage) (string, error) {
	gid, ok, err := param[string](params, 0, "gid")
	if err != nil {
		return "", err
	}
	if !ok {
		return "", aria2rpc.Failed("GID is not provided.")
	}
	return gid, nil
}

// optionsParam reads an options struct: values are strings, an array of
// strings (header) is kept one a line.
func optionsParam(params []json.RawMessage, i int) (map[string]string, error) {
	raw, ok, err := param[map[string]json.RawMessage](params, i, "options")
	if err != nil || !ok {
		return map[string]string{}, err
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
			continue
		}
		var list []string
		if json.Unmarshal(v, &list) == nil {
			out[k] = strings.Join(list, "\n")
			continue
		}
		return nil, aria2rpc.Failed("option %s must be a string", k)
	}
	return out, nil
}

func (q *Queue) gidCall(f func(string) error) aria2rpc.Method {
	return func(_ context.Context, p []json.RawMessage) (any, error) {
		gid, err := gidParam(p)
		if err != nil {
			return nil, err
		}
		if err := f(gid); err != nil {
			return nil, rpcError(err)
		}
		q.mu.Lock()
		defer q.mu.Unlock()
		if it, err := q.find(gid); err == nil {
			return it.gid, nil
		}
		return "OK", nil
	}
}

func (q *Queue) allCall(f func()) aria2rpc.Method {
	return func(context.Context, []json.RawMessage) (any, error) {
		f()
		return "OK", nil
	}
}

func (q *Queue) rpcAddURI(_ context.Context, p []json.RawMessage) (any, error) {
	uris, ok, err := param[[]string](p, 0, "uris")
	if err != nil {
		return nil, err
	}
	if !ok || len(uris) == 0 {
		return nil, aria2rpc.Failed("URI is not provided.")
	}
	opts, err := optionsParam(p, 1)
	if err != nil {
		return nil, err
	}
	position := -1
	if pos, ok, err := param[int](p, 2, "position"); err != nil {
		return nil, err
	} else if ok {
		if pos < 0 {
			return nil, aria2rpc.Failed("Position must be greater than or equal to 0.")
		}
		position = pos
	}
	gid, err := q.Add(uris, opts, position)
	return gid, rpcError(err)
}

// rpcChangeURI is aria2.changeUri(gid, fileIndex, delUris, addUris[,
// position]): it answers [deleted, added], as numbers like aria2c.
func (q *Queue) rpcChangeURI(_ context.Context, p []json.RawMessage) (any, error) {
	gid, err := gidParam(p)
	if err != nil {
		return nil, err
	}
	index, ok, err := param[int](p, 1, "fileIndex")
	if err != nil {
		return nil, err
	}
	if !ok || index < 1 {
		return nil, aria2rpc.Failed("The parameter at 1 is required and must be an integer >= 1.")
	}
	del, _, err := param[[]string](p, 2, "delUris")
	if err != nil {
		return nil, err
	}
	add, _, err := param[[]string](p, 3, "addUris")
	if err != nil {
		return nil, err
	}
	position := -1
	if pos, ok, err := param[int](p, 4, "position"); err != nil {
		return nil, err
	} else if ok {
		if pos < 0 {
			return nil, aria2rpc.Failed("Position must be greater than or equal to 0.")
		}
		position = pos
	}
	deleted, added, err := q.ChangeURIs(gid, index, del, add, position)
	if err != nil {
		return nil, rpcError(err)
	}
	return []int{deleted, added}, nil
}

// lookup finds the download named by the first parameter. Call without q.mu.
func (q *Queue) lookup(p []json.RawMessage) (*item, error) {
	gid, err := gidParam(p)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	it, err := q.find(gid)
	return it, rpcError(err)
}

func keysParam(p []json.RawMessage, i int) ([]string, error) {
	keys, _, err := param[[]string](p, i, "keys")
	return keys, err
}

func (q *Queue) rpcTellStatus(_ context.Context, p []json.RawMessage) (any, error) {
	it, err := q.lookup(p)
	if err != nil {
		return nil, err
	}
	keys, err := keysParam(p, 1)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.statusOf(it, keys), nil
}

func (q *Queue) rpcGetURIs(_ context.Context, p []json.RawMessage) (any, error) {
	it, err := q.lookup(p)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.statusOf(it, nil)["files"].([]any)[0].(map[string]any)["uris"], nil
}

func (q *Queue) rpcGetFiles(_ context.Context, p []json.RawMessage) (any, error) {
	it, err := q.lookup(p)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.statusOf(it, nil)["files"], nil
}

func (q *Queue) rpcGetServers(_ context.Context, p []json.RawMessage) (any, error) {
	it, err := q.lookup(p)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if it.status != statusActive || it.tr == nil {
		return nil, aria2rpc.Failed("No active download for GID#%s", it.gid)
	}
	snap := it.tr.Snapshot()
	servers := make([]any, 0, len(it.uris))
	for i, u := range it.uris {
		servers = append(servers, map[string]string{"uri": u, "currentUri": u, "downloadSpeed": itoa(int64(serverRate(snap, i, u)))})
	}
	return []any{map[string]any{"index": "1", "servers": servers}}, nil
}

// serverRate is the rate of the download's i-th URI, u: its source's in
// the snapshot when the download has mirrors (a source is named by its
// address without a password), else the whole rate for the first URI.
func serverRate(snap netfox.Snapshot, i int, u string) float64 {
	if len(snap.Sources) == 0 {
		if i == 0 {
			return snap.Rate
		}
		return 0
	}
	for _, src := range snap.Sources {
		if src.URL == siteinfo.RedactURL(u) && !src.Dropped {
			return src.Rate
		}
	}
	return 0
}

func (q *Queue) rpcTellActive(_ context.Context, p []json.RawMessage) (any, error) {
	keys, err := keysParam(p, 0)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]any, 0, len(q.active))
	for _, it := range q.active {
		out = append(out, q.statusOf(it, keys))
	}
	return out, nil
}

func (q *Queue) rpcTellList(stopped bool) aria2rpc.Method {
	return func(_ context.Context, p []json.RawMessage) (any, error) {
		offset, ok1, err := param[int](p, 0, "offset")
		if err != nil {
			return nil, err
		}
		num, ok2, err := param[int](p, 1, "num")
		if err != nil {
			return nil, err
		}
		if !ok1 || !ok2 {
			return nil, aria2rpc.Failed("Bad offset or num")
		}
		keys, err := keysParam(p, 2)
		if err != nil {
			return nil, err
		}
		q.mu.Lock()
		defer q.mu.Unlock()
		list := q.waiting
		if stopped {
			list = q.stopped
		}
		from, to, reverse := pageRange(offset, num, len(list))
		out := make([]any, 0, to-from)
		for _, it := range list[from:to] {
			out = append(out, q.statusOf(it, keys))
		}
		if reverse {
			for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
				out[i], out[j] = out[j], out[i]
			}
		}
		return out, nil
	}
}

func (q *Queue) rpcChangePosition(_ context.Context, p []json.RawMessage) (any, error) {
	gid, err := gidParam(p)
	if err != nil {
		return nil, err
	}
	pos, ok1, err := param[int](p, 1, "pos")
	if err != nil {
		return nil, err
	}
	how, ok2, err := param[string](p, 2, "how")
	if err != nil {
		return nil, err
	}
	if !ok1 || !ok2 {
		return nil, aria2rpc.Failed("Illegal argument.")
	}
	dest, err := q.ChangePosition(gid, pos, how)
	if err != nil {
		return nil, rpcError(err)
	}
	return dest, nil
}

// baseOptions are the options every download has before its own, under
// aria2's names.
func (q *Queue) baseOptions() map[string]string {
	return map[string]string{
		"dir":                       q.opts.Dir,
		"split":                     strconv.Itoa(max(q.opts.Connections, 1)),
		"max-connection-per-server": strconv.Itoa(netfox.MaxConnections),
		"max-download-limit":        "0",
		"min-split-size":            itoa(netfox.DefaultMinSplit),
		"max-tries":                 strconv.Itoa(netfox.DefaultMaxTries),
		"user-agent":                netfox.DefaultUserAgent,
		"continue":                  "false",
		"allow-overwrite":           "false",
	}
}

func (q *Queue) rpcGetOption(_ context.Context, p []json.RawMessage) (any, error) {
	it, err := q.lookup(p)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.baseOptions()
	maps.Copy(out, q.globals)
	maps.Copy(out, it.opts)
	out["dir"] = it.dir
	return out, nil
}

func (q *Queue) rpcChangeOption(_ context.Context, p []json.RawMessage) (any, error) {
	gid, err := gidParam(p)
	if err != nil {
		return nil, err
	}
	opts, err := optionsParam(p, 1)
	if err != nil {
		return nil, err
	}
	if err := q.changeOptions(gid, opts); err != nil {
		return nil, rpcError(err)
	}
	return "OK", nil
}

func (q *Queue) rpcGetGlobalOption(context.Context, []json.RawMessage) (any, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.baseOptions()
	maps.Copy(out, q.globals)
	out["max-concurrent-downloads"] = strconv.Itoa(q.maxConcurrent)
	out["max-overall-download-limit"] = itoa(q.eng.limitRate())
	return out, nil
}

func (q *Queue) rpcChangeGlobalOption(_ context.Context, p []json.RawMessage) (any, error) {
	opts, err := optionsParam(p, 0)
	if err != nil {
		return nil, err
	}
	var (
		maxConcurrent = -1
		limit         = int64(-1)
		rest          = map[string]string{}
	)
	for k, v := range opts {
		switch k {
		case "max-concurrent-downloads":
			n, err := intOption(k, v, 1, 1000)
			if err != nil {
				return nil, rpcError(err)
			}
			maxConcurrent = n
		case "max-overall-download-limit":
			n, err := sizeOption(k, v)
			if err != nil {
				return nil, rpcError(err)
			}
			limit = n
		default:
			rest[k] = v
		}
	}
	q.mu.Lock()
	next := maps.Clone(q.globals)
	maps.Copy(next, rest)
	if _, err := buildRequest(q.opts.Config, []string{"http://localhost/"}, next); err != nil {
		q.mu.Unlock()
		return nil, rpcError(fmt.Errorf("%w", err))
	}
	q.globals = next
	q.mu.Unlock()
	if limit >= 0 {
		q.eng.setLimitRate(limit)
	}
	if maxConcurrent > 0 {
		q.SetMaxConcurrent(maxConcurrent)
	}
	return "OK", nil
}

func (q *Queue) rpcGetGlobalStat(context.Context, []json.RawMessage) (any, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var speed float64
	for _, it := range q.active {
		speed += it.tr.Snapshot().Rate
	}
	return map[string]string{
		"downloadSpeed":   itoa(int64(speed)),
		"uploadSpeed":     "0",
		"numActive":       strconv.Itoa(len(q.active)),
		"numWaiting":      strconv.Itoa(len(q.waiting)),
		"numStopped":      strconv.Itoa(len(q.stopped)),
		"numStoppedTotal": itoa(q.stopSeq),
	}, nil
}
