package netfox

import "github.com/netfox/netfox/internal/engine"

// The count of connections AutoConnections settles at is remembered per
// host (scheme, host and port) in a small file in a cache directory, so
// that the next download from the host starts there.

// DefaultCacheDir is where netfox keeps what it remembers between runs:
// netfox under os.UserCacheDir (~/.cache/netfox on Linux).
func DefaultCacheDir() (string, error) { return engine.DefaultCacheDir() }

// RememberedConnections is the count stored for the host of rawURL in
// the cache directory dir (empty: DefaultCacheDir), if any.
func RememberedConnections(dir, rawURL string) (int, bool) {
	return engine.RememberedConnections(dir, rawURL)
}

// RememberConnections stores n as the count for the host of rawURL in
// the cache directory dir (empty: DefaultCacheDir); source says who found
// it ("auto", "bench"). The file is replaced whole, so a reader never
// sees half of it; of two writers at once, the last one wins.
func RememberConnections(dir, rawURL string, n int, source string) error {
	return engine.RememberConnections(dir, rawURL, n, source)
}
