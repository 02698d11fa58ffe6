// Command daemonscale measures `netfox daemon` (and, with -aria2c, aria2c
// --enable-rpc beside it) under issue 30's scale case: N downloads queued
// at once over JSON-RPC at --max-concurrent-downloads J, from a local
// rate-capped `netfox serve`. It reports the time to queue them, the
// latency of tellActive while J are active (median, p99, max of -calls
// calls), of tellWaiting(0, N), the time until all are complete, the
// daemon's peak RSS (VmHWM from /proc/PID/status) and checks every file's
// sha256. It exits 1 when a bound of the issue is missed (peak RSS above
// -max-rss, tellActive's median at or above -max-latency) or a file is
// wrong; the p99 is reported beside aria2c's.
//
// Run it through bench/daemon-scale.sh, which builds the binary.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

type config struct {
	netfox, aria2c      string
	n, j, conns, calls  int
	size                int64
	rate                string
	maxRSS              int64
	maxLatency, timeout time.Duration
	all                 bool
}

func main() {
	var c config
	flag.StringVar(&c.netfox, "netfox", "bin/netfox", "the netfox binary")
	flag.StringVar(&c.aria2c, "aria2c", "", "also measure this aria2c binary (empty: netfox only)")
	flag.IntVar(&c.n, "n", 1000, "downloads queued")
	flag.IntVar(&c.j, "j", 16, "--max-concurrent-downloads")
	flag.IntVar(&c.conns, "conns", 2, "connections per download (netfox -n, aria2c -x/-s)")
	flag.IntVar(&c.calls, "calls", 200, "tellActive calls timed")
	flag.Int64Var(&c.size, "size", 256<<10, "bytes per file")
	flag.StringVar(&c.rate, "rate", "128KiB", "netfox serve --rate-per-conn")
	flag.Int64Var(&c.maxRSS, "max-rss", 64<<20, "peak RSS bound in bytes")
	flag.DurationVar(&c.maxLatency, "max-latency", 5*time.Millisecond, "tellActive median bound")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Minute, "bound on one run")
	flag.BoolVar(&c.all, "all", true, "wait until every download is complete and check the files")
	flag.Parse()
	ok, err := run(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "daemonscale:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(c config) (bool, error) {
	work, err := os.MkdirTemp("", "daemonscale")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(work)
	src := filepath.Join(work, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return false, err
	}
	data := make([]byte, c.size)
	r := rand.New(rand.NewPCG(30, 1000))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(filepath.Join(src, "f.bin"), data, 0o644); err != nil {
		return false, err
	}
	want := sha256.Sum256(data)

	servePort, err := freePort()
	if err != nil {
		return false, err
	}
	serve := exec.Command(c.netfox, "serve", "--addr", "127.0.0.1:"+strconv.Itoa(servePort), "--rate-per-conn", c.rate, src)
	if err := serve.Start(); err != nil {
		return false, err
	}
	defer func() { _ = serve.Process.Kill(); _ = serve.Wait() }()
	fileURL := fmt.Sprintf("http://127.0.0.1:%d/f.bin", servePort)
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := http.Head(fileURL)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("netfox serve did not answer within 20 s: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	fmt.Printf("%d downloads of %d bytes, --max-concurrent-downloads %d, %d connections each, netfox serve --rate-per-conn %s\n\n",
		c.n, c.size, c.j, c.conns, c.rate)
	fmt.Println("| daemon | queue N (s) | tellActive median (ms) | p99 | max | active during calls | tellWaiting(0,N) median (ms) | all complete (s) | peak RSS (MiB) | files ok |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	ok := true
	peers := []string{"netfox"}
	if c.aria2c != "" {
		peers = append(peers, "aria2c")
	}
	for _, peer := range peers {
		m, err := measure(c, peer, work, fileURL, want)
		if err != nil {
			return false, fmt.Errorf("%s: %w", peer, err)
		}
		fmt.Printf("| %s | %.2f | %.2f | %.2f | %.2f | %s | %.1f | %.1f | %.1f | %d/%d |\n", peer, m.queue.Seconds(),
			ms(m.active[len(m.active)/2]), ms(m.active[len(m.active)*99/100]), ms(m.active[len(m.active)-1]), m.activeSeen,
			ms(m.waiting[len(m.waiting)/2]), m.all.Seconds(), float64(m.rss)/(1<<20), m.filesOK, c.n)
		if peer == "netfox" {
			if m.rss > c.maxRSS {
				fmt.Fprintf(os.Stderr, "netfox: peak RSS %d bytes is above %d\n", m.rss, c.maxRSS)
				ok = false
			}
			if median := m.active[len(m.active)/2]; median >= c.maxLatency {
				fmt.Fprintf(os.Stderr, "netfox: tellActive's median %v is not under %v\n", median, c.maxLatency)
				ok = false
			}
		}
		if m.filesOK != c.n {
			ok = false
		}
	}
	return ok, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type measured struct {
	queue, all      time.Duration
	active, waiting []time.Duration // sorted
	activeSeen      string          // the range of tellActive's lengths
	rss             int64
	filesOK         int
}

func measure(c config, peer, work, fileURL string, want [32]byte) (measured, error) {
	var m measured
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	dir := filepath.Join(work, peer)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return m, err
	}
	port, err := freePort()
	if err != nil {
		return m, err
	}
	var cmd *exec.Cmd
	if peer == "netfox" {
		cmd = exec.Command(c.netfox, "daemon", "--rpc-listen-port", strconv.Itoa(port), "--dir", dir,
			"--state", filepath.Join(work, "queue.db"), "--max-concurrent-downloads", strconv.Itoa(c.j), "-n", strconv.Itoa(c.conns))
	} else {
		cmd = exec.Command(c.aria2c, "--enable-rpc", "--rpc-listen-port", strconv.Itoa(port), "--dir", dir, "--no-conf", "--quiet",
			"--max-concurrent-downloads", strconv.Itoa(c.j), "-x", strconv.Itoa(c.conns), "-s", strconv.Itoa(c.conns),
			"-k", "1M", "--file-allocation=none", "--max-download-result", strconv.Itoa(c.n))
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return m, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	rpc := &client{url: fmt.Sprintf("http://127.0.0.1:%d/jsonrpc", port), http: &http.Client{Timeout: 30 * time.Second}}
	if err := rpc.waitUp(ctx); err != nil {
		return m, fmt.Errorf("%w (stderr: %s)", err, stderr.String())
	}

	start := time.Now()
	gids := make([]string, c.n)
	for i := range c.n {
		if err := rpc.call(&gids[i], "aria2.addUri", []string{fileURL}, map[string]string{"out": fmt.Sprintf("f%04d.bin", i)}); err != nil {
			return m, err
		}
	}
	m.queue = time.Since(start)

	// tellActive, timed while the queue runs; the answer's length says
	// how many were active.
	minActive, maxActive := c.j, 0
	for len(m.active) < c.calls {
		var active []map[string]any
		t0 := time.Now()
		if err := rpc.call(&active, "aria2.tellActive"); err != nil {
			return m, err
		}
		m.active = append(m.active, time.Since(t0))
		minActive, maxActive = min(minActive, len(active)), max(maxActive, len(active))
	}
	m.activeSeen = fmt.Sprintf("%d-%d", minActive, maxActive)
	for range 20 {
		var waiting []any
		t0 := time.Now()
		if err := rpc.call(&waiting, "aria2.tellWaiting", 0, c.n); err != nil {
			return m, err
		}
		m.waiting = append(m.waiting, time.Since(t0))
	}
	slices.Sort(m.active)
	slices.Sort(m.waiting)

	// Then until every download has stopped.
	for c.all {
		var stat map[string]string
		if err := rpc.call(&stat, "aria2.getGlobalStat"); err != nil {
			return m, err
		}
		if stat["numActive"] == "0" && stat["numWaiting"] == "0" {
			break
		}
		select {
		case <-ctx.Done():
			return m, fmt.Errorf("not all complete within %v: %v", c.timeout, stat)
		case <-time.After(100 * time.Millisecond):
		}
	}
	m.all = time.Since(start)
	if m.rss, err = peakRSS(cmd.Process.Pid); err != nil {
		return m, err
	}
	bad := 0
	for i := range c.n {
		if !c.all {
			m.filesOK = c.n // not checked
			break
		}
		got, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("f%04d.bin", i)))
		if err == nil && sha256.Sum256(got) == want {
			m.filesOK++
			continue
		}
		if bad++; bad <= 3 {
			var st map[string]any
			_ = rpc.call(&st, "aria2.tellStatus", gids[i], []string{"status", "errorCode", "errorMessage", "completedLength"})
			fmt.Fprintf(os.Stderr, "%s: f%04d.bin (%v) is not the file: %v\n", peer, i, err, st)
		}
	}
	return m, nil
}

// peakRSS is VmHWM of pid, in bytes.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// client is a JSON-RPC client on one keep-alive connection.
type client struct {
	url  string
	http *http.Client
}

func (c *client) call(out any, method string, params ...any) error {
	if params == nil {
		params = []any{}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": "s", "method": method, "params": params})
	resp, err := c.http.Post(c.url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var a struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	if a.Error != nil {
		return fmt.Errorf("%s: code %d: %s", method, a.Error.Code, a.Error.Message)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(a.Result, out)
}

// waitUp waits for the RPC to answer, for at most 20 s.
func (c *client) waitUp(ctx context.Context) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := c.call(nil, "aria2.getVersion"); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("the RPC did not answer within 20 s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
