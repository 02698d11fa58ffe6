package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/aria2rpc"
	"github.com/netfox/netfox/daemon"
)

func daemonCommand() *cli.Command {
	return &cli.Command{
		Name:         "daemon",
		Usage:        "run a download queue driven by aria2's JSON-RPC (AriaNg, webui-aria2, ...)",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "rpc-listen-port", Value: 6800, Usage: "port of the JSON-RPC (HTTP and WebSocket on /jsonrpc)"},
			&cli.BoolFlag{Name: "rpc-listen-all", Usage: "listen on every interface, not only 127.0.0.1 (needs --rpc-secret)"},
			&cli.StringFlag{Name: "rpc-secret", Usage: "the `TOKEN` every call must carry (token:TOKEN as its first parameter)"},
			&cli.BoolFlag{Name: "rpc-allow-origin-all", Usage: "let web pages of any origin call the RPC (CORS) and open its WebSocket"},
			&cli.StringFlag{Name: "dir", Aliases: []string{"d"}, Value: ".", Usage: "download `DIR`; a download's dir and out must stay inside it"},
			&cli.BoolFlag{Name: "allow-outside-dir", Usage: "let a download's dir or out name a place outside --dir"},
			&cli.IntFlag{Name: "max-concurrent-downloads", Aliases: []string{"j"}, Value: daemon.DefaultMaxConcurrent, Usage: "downloads running at once"},
			&cli.StringFlag{Name: "state", Usage: "the queue's database `FILE` (default: netfox/daemon.db under the user's data directory)"},
			&cli.GenericFlag{Name: "connections", Aliases: []string{"n"}, Value: &connectionsValue{n: netfox.DefaultConnections}, Usage: "connections per download unless it sets split (1-256, or auto)"},
			&cli.StringFlag{Name: "limit-rate", Usage: "cap each download at `RATE` per second unless it sets max-download-limit (e.g. 5MiB)"},
			&cli.StringFlag{Name: "max-overall-download-limit", Usage: "cap all downloads together at `RATE` per second"},
			&cli.IntFlag{Name: "max-connections-per-host", Value: netfox.DefaultMaxConnectionsPerHost, Usage: "connections open at once to one host by all downloads together"},
			&cli.StringFlag{Name: "user-agent", Value: netfox.DefaultUserAgent, Usage: "User-Agent header unless a download sets user-agent"},
		},
		Action: runDaemon,
	}
}

func runDaemon(c *cli.Context) error {
	if c.NArg() != 0 {
		return usageError{fmt.Errorf("daemon takes no arguments, only flags (got %q)", c.Args().First())}
	}
	secret := c.String("rpc-secret")
	if c.Bool("rpc-listen-all") && secret == "" {
		return usageError{errors.New("--rpc-listen-all needs --rpc-secret: anyone on the network could add downloads")}
	}
	port := c.Int("rpc-listen-port")
	if port < 0 || port > 65535 {
		return usageError{fmt.Errorf("--rpc-listen-port %d is not a port", port)}
	}
	dir, err := filepath.Abs(c.String("dir"))
	if err != nil {
		return usageError{fmt.Errorf("--dir: %w", err)}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%w: --dir: %w", netfox.ErrIO, err)
	}
	state := c.String("state")
	if state == "" {
		if state, err = defaultStatePath(); err != nil {
			return usageError{fmt.Errorf("no data directory for the queue (%v); give --state FILE", err)}
		}
	}
	conns := c.Generic("connections").(*connectionsValue)
	connections := conns.n
	if conns.auto {
		connections = netfox.AutoConnections
	} else if connections < 1 || connections > netfox.MaxConnections {
		return usageError{fmt.Errorf("-n must be from 1 to %d, or auto", netfox.MaxConnections)}
	}
	perDownload, err := rateFlag(c, "limit-rate")
	if err != nil {
		return err
	}
	overall, err := rateFlag(c, "max-overall-download-limit")
	if err != nil {
		return err
	}
	defaults := map[string]string{}
	if perDownload > 0 {
		defaults["max-download-limit"] = strconv.FormatInt(perDownload, 10)
	}
	if ua := c.String("user-agent"); ua != "" {
		defaults["user-agent"] = ua
	}
	maxConcurrent := c.Int("max-concurrent-downloads")
	if maxConcurrent < 1 {
		return usageError{errors.New("--max-concurrent-downloads must be at least 1")}
	}

	logLine := func(line string) { fmt.Fprintln(os.Stderr, "netfox: "+line) }
	// Set once the RPC server exists; downloads resumed by Open may end
	// before that.
	var rpc atomic.Pointer[aria2rpc.Server]
	q, err := daemon.Open(daemon.Options{
		Config:        daemon.Config{Dir: dir, AllowOutside: c.Bool("allow-outside-dir"), Connections: connections},
		MaxConcurrent: maxConcurrent,
		StatePath:     state,
		Client:        netfox.ClientOptions{MaxConnectionsPerHost: c.Int("max-connections-per-host"), LimitRate: overall},
		Defaults:      defaults,
		Log:           logLine,
		Notify: func(event, gid string) {
			if s := rpc.Load(); s != nil {
				s.Notify(event, gid)
			}
		},
	})
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(c.Context)
	defer stop()
	server := aria2rpc.NewServer(aria2rpc.Options{
		Methods:        q.Methods(stop),
		Secret:         secret,
		AllowOriginAll: c.Bool("rpc-allow-origin-all"),
	})
	rpc.Store(server)
	host := "127.0.0.1"
	if c.Bool("rpc-listen-all") {
		host = ""
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		_ = q.Close()
		return fmt.Errorf("%w: cannot listen on port %d: %w", netfox.ErrUsage, port, err)
	}
	listeners := []net.Listener{ln}
	if host != "" {
		// As aria2, loopback is both 127.0.0.1 and ::1: clients (AriaNg,
		// the npm aria2 client) default to "localhost", which may resolve
		// to either. No IPv6 loopback is no error.
		if ln6, err := net.Listen("tcp", net.JoinHostPort("::1", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))); err == nil {
			listeners = append(listeners, ln6)
		}
	}
	srv := &http.Server{Handler: server, ReadHeaderTimeout: 10 * time.Second}
	// The secret is never logged: only whether there is one.
	logLine(fmt.Sprintf("daemon listening on http://%s/jsonrpc (secret: %v), downloads in %s, queue in %s", ln.Addr(), secret != "", dir, state))
	served := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { served <- srv.Serve(l) }()
	}
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	logLine("daemon stopping: saving the queue")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	server.CloseAll()
	_ = srv.Shutdown(shutdownCtx)
	if closeErr := q.Close(); closeErr != nil && err == nil {
		err = closeErr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// defaultStatePath is netfox/daemon.db under the user's data directory:
// $XDG_DATA_HOME, else ~/.local/share; on Windows and macOS the
// configuration directory Go knows (AppData\Roaming, Library/Application
// Support).
func defaultStatePath() (string, error) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(d, "netfox", "daemon.db"), nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "netfox", "daemon.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "share", "netfox", "daemon.db"), nil
}
