package engine

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/netfox/netfox/internal/testdir"
)

func TestHostCache(t *testing.T) {
	dir := testdir.New(t)
	if _, ok := RememberedConnections(dir, "http://a.example/f"); ok {
		t.Fatal("a count remembered in an empty cache")
	}
	if err := RememberConnections(dir, "http://A.example/f.iso", 8, "auto"); err != nil {
		t.Fatal(err)
	}
	if err := RememberConnections(dir, "https://a.example:8443/g", 3, "bench"); err != nil {
		t.Fatal(err)
	}
	for url, want := range map[string]int{"http://a.example/other": 8, "https://a.example:8443/x": 3} {
		if n, ok := RememberedConnections(dir, url); !ok || n != want {
			t.Errorf("%s: remembered %d (%v), want %d", url, n, ok, want)
		}
	}
	if _, ok := RememberedConnections(dir, "https://a.example/f"); ok {
		t.Error("another scheme and port share a host's count")
	}
	for _, n := range []int{0, MaxConnections + 1} {
		if err := RememberConnections(dir, "http://a.example/f", n, "auto"); err == nil {
			t.Errorf("remembering %d connections: no error", n)
		}
	}

	// Damaged or hostile contents are only a missing hint.
	for _, bad := range []string{"{not json", `{"hosts":{"http://a.example":{"connections":100000}}}`, `{"hosts":{"http://a.example":{"connections":-3}}}`} {
		if err := os.WriteFile(filepath.Join(dir, cacheFileName), []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if n, ok := RememberedConnections(dir, "http://a.example/f"); ok {
			t.Errorf("%q: remembered %d", bad, n)
		}
		if err := RememberConnections(dir, "http://a.example/f", 5, "auto"); err != nil {
			t.Errorf("%q: writing over it: %v", bad, err)
		}
		if n, _ := RememberedConnections(dir, "http://a.example/f"); n != 5 {
			t.Errorf("%q: after writing over it remembered %d, want 5", bad, n)
		}
	}
}

func TestHostCacheBounded(t *testing.T) {
	dir := testdir.New(t)
	for i := range cacheMaxHosts + 5 {
		if err := RememberConnections(dir, "http://h"+strconv.Itoa(i)+".example/", 2, "auto"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(readHostCounts(dir).Hosts); n != cacheMaxHosts {
		t.Errorf("%d hosts kept, want %d", n, cacheMaxHosts)
	}
	if _, ok := RememberedConnections(dir, "http://h"+strconv.Itoa(cacheMaxHosts+4)+".example/"); !ok {
		t.Error("the newest host was dropped")
	}
}
