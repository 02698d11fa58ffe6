package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/netfox/netfox/fileaccess"
)

// The per-host memory of -n auto: a small JSON file under the user's
// cache directory that maps a host to the number of connections that
// worked there last, so that the next download from it starts there.
// `netfox bench URL` stores its recommendation in it too.

// cacheFileName is the file in the cache directory.
const cacheFileName = "connections.json"

// cacheMaxHosts bounds the file: beyond it the oldest hosts are dropped.
const cacheMaxHosts = 500

// cacheMaxBytes is the most read of the file; a larger one is ignored.
const cacheMaxBytes = 1 << 20

// DefaultCacheDir is where netfox keeps what it remembers between runs:
// netfox under os.UserCacheDir (~/.cache/netfox on Linux).
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "netfox"), nil
}

// hostCount is one host's remembered count.
type hostCount struct {
	Connections int    `json:"connections"`
	Source      string `json:"source"` // "auto" or "bench"
	// Capped: the server said it was overloaded above this count.
	Capped  bool      `json:"capped,omitempty"`
	Updated time.Time `json:"updated"`
}

// cappedFor is how long a count at which the server said it was
// overloaded stays a ceiling; after it, -n auto searches above it again.
const cappedFor = 24 * time.Hour

type hostCounts struct {
	Hosts map[string]hostCount `json:"hosts"`
}

// hostKey names the server of rawURL in the cache: scheme and host with
// its port, in lower case.
func hostKey(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%w: cannot tell the host of %q", ErrUsage, rawURL)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// cacheDir is dir, or DefaultCacheDir when empty.
func cacheDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	return DefaultCacheDir()
}

// readHostCounts reads the cache file; a missing, oversized or damaged
// one reads as empty (it is only a hint), and so does one that is not a
// regular file of the user's (fileaccess.OpenOwned: a FIFO there does not
// block the download).
func readHostCounts(dir string) hostCounts {
	hc := hostCounts{Hosts: map[string]hostCount{}}
	f, err := fileaccess.OpenOwned(filepath.Join(dir, cacheFileName), fileaccess.UseOwn)
	if err != nil {
		return hc
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() > cacheMaxBytes {
		return hc
	}
	b, err := io.ReadAll(io.LimitReader(f, cacheMaxBytes+1))
	if err != nil || len(b) > cacheMaxBytes {
		return hc
	}
	var read hostCounts
	if json.Unmarshal(b, &read) != nil {
		return hc
	}
	for k, v := range read.Hosts {
		if v.Connections >= 1 && v.Connections <= MaxConnections {
			hc.Hosts[k] = v
		}
	}
	return hc
}

// RememberedConnections is the count stored for the host of rawURL in
// the cache directory dir (empty: DefaultCacheDir), if any.
func RememberedConnections(dir, rawURL string) (int, bool) {
	hc, ok := rememberedHost(dir, rawURL)
	return hc.Connections, ok
}

// autoStart is where AutoConnections starts for rawURL's host: the count
// remembered for it, else AutoStart, at most most; capped reports that
// the server said lately that it takes no more.
func autoStart(dir, rawURL string, most int) (n int, capped bool) {
	n = AutoStart
	if hc, ok := rememberedHost(dir, rawURL); ok {
		n = hc.Connections
		capped = hc.Capped && time.Since(hc.Updated) < cappedFor
	}
	return min(n, most), capped
}

func rememberedHost(dir, rawURL string) (hostCount, bool) {
	key, err := hostKey(rawURL)
	if err != nil {
		return hostCount{}, false
	}
	if dir, err = cacheDir(dir); err != nil {
		return hostCount{}, false
	}
	hc, ok := readHostCounts(dir).Hosts[key]
	return hc, ok
}

// RememberConnections stores n as the count for the host of rawURL in
// the cache directory dir (empty: DefaultCacheDir); source says who found
// it ("auto", "bench"). The file is replaced whole (write, then rename),
// so a reader never sees half of it; of two writers at once, the last
// one wins.
func RememberConnections(dir, rawURL string, n int, source string) error {
	return remember(dir, rawURL, hostCount{Connections: n, Source: source})
}

// remember stores hc, stamped now, for the host of rawURL.
func remember(dir, rawURL string, hc hostCount) error {
	n := hc.Connections
	if n < 1 || n > MaxConnections {
		return fmt.Errorf("%w: connections must be between 1 and %d, not %d", ErrUsage, MaxConnections, n)
	}
	key, err := hostKey(rawURL)
	if err != nil {
		return err
	}
	if dir, err = cacheDir(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	all := readHostCounts(dir)
	hc.Updated = time.Now().UTC()
	all.Hosts[key] = hc
	if len(all.Hosts) > cacheMaxHosts {
		keys := make([]string, 0, len(all.Hosts))
		for k := range all.Hosts {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int { return all.Hosts[a].Updated.Compare(all.Hosts[b].Updated) })
		for _, k := range keys[:len(keys)-cacheMaxHosts] {
			delete(all.Hosts, k)
		}
	}
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, cacheFileName+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(b, '\n'))
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, cacheFileName))
	}
	if err != nil {
		if rmErr := os.Remove(tmp.Name()); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			return errors.Join(err, rmErr)
		}
	}
	return err
}
