package daemon

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/netfox/netfox"
)

// ErrOption indicates that an aria2 option has a value the daemon refuses:
// malformed, out of range, or a path that leaves the download directory.
var ErrOption = errors.New("bad option")

// Config is what the daemon was started with and what every download's
// options are checked against.
type Config struct {
	// Dir is the download directory: dir and out options must stay
	// under it unless AllowOutside.
	Dir string
	// AllowOutside lets a download's dir or out leave Dir.
	AllowOutside bool
	// Connections is the default for downloads that set no split
	// (netfox.AutoConnections for auto).
	Connections int
}

// downloadOptions are the aria2 options of one download, as strings like
// aria2's (a header option holds its headers one a line).
type downloadOptions map[string]string

// buildRequest turns a download's URIs and options, merged over the global
// ones, into the library's Request. It is a pure function: every refusal
// wraps ErrOption.
func buildRequest(cfg Config, uris []string, opts downloadOptions) (netfox.Request, error) {
	if len(uris) == 0 {
		return netfox.Request{}, fmt.Errorf("%w: no URI given", ErrOption)
	}
	req := netfox.Request{URL: uris[0], Mirrors: append([]string(nil), uris[1:]...), Connections: cfg.Connections}
	dir, err := confinedDir(cfg, opts["dir"])
	if err != nil {
		return netfox.Request{}, err
	}
	req.Dir = dir
	if out := opts["out"]; out != "" {
		path, err := confinedOut(cfg, dir, out)
		if err != nil {
			return netfox.Request{}, err
		}
		req.Output = path
	}
	if s := opts["split"]; s != "" {
		n, err := intOption("split", s, 1, netfox.MaxConnections)
		if err != nil {
			return netfox.Request{}, err
		}
		req.Connections = n
	}
	if s := opts["max-connection-per-server"]; s != "" {
		n, err := intOption("max-connection-per-server", s, 1, netfox.MaxConnections)
		if err != nil {
			return netfox.Request{}, err
		}
		if limit := n * len(uris); req.Connections > limit || req.Connections == netfox.AutoConnections {
			if req.Connections == netfox.AutoConnections {
				req.AutoMax = limit
			} else {
				req.Connections = limit
			}
		}
	}
	if s := opts["max-download-limit"]; s != "" {
		v, err := sizeOption("max-download-limit", s)
		if err != nil {
			return netfox.Request{}, err
		}
		req.LimitRate = v
	}
	if s := opts["min-split-size"]; s != "" {
		v, err := sizeOption("min-split-size", s)
		if err != nil {
			return netfox.Request{}, err
		}
		req.MinSplit = v
	}
	if s := opts["max-tries"]; s != "" {
		n, err := intOption("max-tries", s, 0, 1000)
		if err != nil {
			return netfox.Request{}, err
		}
		req.MaxTries = n
	}
	if s := opts["header"]; s != "" {
		req.Header = http.Header{}
		for _, line := range strings.Split(s, "\n") {
			name, value, ok := strings.Cut(line, ":")
			if !ok || strings.TrimSpace(name) == "" {
				return netfox.Request{}, fmt.Errorf("%w: header %q is not 'Name: value'", ErrOption, line)
			}
			req.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
		}
	}
	if s := opts["checksum"]; s != "" {
		sum, err := parseChecksum(s)
		if err != nil {
			return netfox.Request{}, err
		}
		req.Checksum = sum
	}
	req.UserAgent = opts["user-agent"]
	req.User, req.Password = opts["http-user"], opts["http-passwd"]
	if opts["ftp-user"] != "" && req.User == "" {
		req.User, req.Password = opts["ftp-user"], opts["ftp-passwd"]
	}
	for _, b := range []struct {
		name string
		to   *bool
	}{{"continue", &req.Continue}, {"allow-overwrite", &req.Overwrite}} {
		v, err := boolOption(b.name, opts[b.name])
		if err != nil {
			return netfox.Request{}, err
		}
		*b.to = v
	}
	if req.Continue && req.Overwrite {
		// netfox refuses both; aria2's continue wins over overwrite.
		req.Overwrite = false
	}
	if _, err := proxyOption(opts); err != nil {
		return netfox.Request{}, err
	}
	return req, nil
}

// proxyOption reads aria2's all-proxy ([SCHEME://][USER:PASSWORD@]HOST:PORT,
// http:// when no scheme is given) with all-proxy-user and
// all-proxy-passwd over the URL's own credentials; nil when none is set
// (the daemon's environment then decides, HTTP_PROXY and the like).
func proxyOption(opts downloadOptions) (*url.URL, error) {
	s := strings.TrimSpace(opts["all-proxy"])
	if s == "" {
		return nil, nil
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("%w: all-proxy must be [http://][USER:PASSWORD@]HOST:PORT, not %q", ErrOption, opts["all-proxy"])
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return nil, fmt.Errorf("%w: all-proxy's scheme must be http, https or socks5, not %q", ErrOption, u.Scheme)
	}
	u.Path = ""
	if user := opts["all-proxy-user"]; user != "" {
		u.User = url.UserPassword(user, opts["all-proxy-passwd"])
	}
	return u, nil
}

// confinedDir resolves a download's dir option: relative ones are taken
// inside cfg.Dir; the result must not leave cfg.Dir unless allowed.
func confinedDir(cfg Config, dir string) (string, error) {
	if dir == "" {
		return cfg.Dir, nil
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(cfg.Dir, dir)
	}
	dir = filepath.Clean(dir)
	if !cfg.AllowOutside && !within(cfg.Dir, dir) {
		return "", fmt.Errorf("%w: dir %s is outside the download directory %s", ErrOption, dir, cfg.Dir)
	}
	return dir, nil
}

// confinedOut resolves a download's out option inside dir.
func confinedOut(cfg Config, dir, out string) (string, error) {
	path := out
	if !filepath.IsAbs(out) {
		path = filepath.Join(dir, out)
	}
	path = filepath.Clean(path)
	if !cfg.AllowOutside && (!within(cfg.Dir, path) || path == filepath.Clean(cfg.Dir)) {
		return "", fmt.Errorf("%w: out %s is outside the download directory %s", ErrOption, out, cfg.Dir)
	}
	return path, nil
}

// within reports whether path is base or under it, lexically.
func within(base, path string) bool {
	rel, err := filepath.Rel(filepath.Clean(base), path)
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}

func intOption(name, s string, min, max int) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < min || n > max {
		return 0, fmt.Errorf("%w: %s must be a number from %d to %d, not %q", ErrOption, name, min, max, s)
	}
	return n, nil
}

// sizeOption reads aria2's sizes: a number of bytes with an optional K or
// M (1024 and 1024*1024), as in --max-download-limit=1M.
func sizeOption(name, s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	switch {
	case strings.HasSuffix(t, "K"), strings.HasSuffix(t, "k"):
		mult, t = 1<<10, t[:len(t)-1]
	case strings.HasSuffix(t, "M"), strings.HasSuffix(t, "m"):
		mult, t = 1<<20, t[:len(t)-1]
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("%w: %s must be a size such as 500K or 2M, not %q", ErrOption, name, s)
	}
	return v * mult, nil
}

func boolOption(name, s string) (bool, error) {
	switch s {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, fmt.Errorf("%w: %s must be true or false, not %q", ErrOption, name, s)
}

// parseChecksum reads aria2's checksum option, TYPE=DIGEST with TYPE
// sha-1, sha-256, sha-512 or md5.
func parseChecksum(s string) (*netfox.Checksum, error) {
	algo, digest, ok := strings.Cut(s, "=")
	if !ok {
		return nil, fmt.Errorf("%w: checksum must be TYPE=DIGEST, not %q", ErrOption, s)
	}
	sum, err := netfox.ParseChecksum(strings.ReplaceAll(strings.ToLower(algo), "-", "") + "=" + digest)
	if err != nil {
		return nil, fmt.Errorf("%w: checksum: %w", ErrOption, err)
	}
	return sum, nil
}
