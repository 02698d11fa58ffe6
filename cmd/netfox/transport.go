package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/cookiefile"
	"github.com/netfox/netfox/internal/netrc"
)

// transportOptions reads --proxy, --insecure, --ca-cert and --load-cookies.
func transportOptions(c *cli.Context) (netfox.TransportOptions, error) {
	var opts netfox.TransportOptions
	if s := c.String("proxy"); s != "" {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return opts, usageError{fmt.Errorf("--proxy: %q is not a proxy URL (e.g. http://proxy:3128)", s)}
		}
		opts.Proxy = u
	}
	if c.Bool("insecure") || c.String("ca-cert") != "" {
		opts.TLS = &tls.Config{InsecureSkipVerify: c.Bool("insecure")}
	}
	if path := c.String("ca-cert"); path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return opts, usageError{fmt.Errorf("--ca-cert: %w", err)}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return opts, usageError{fmt.Errorf("--ca-cert: no PEM certificate in %s", path)}
		}
		opts.TLS.RootCAs = pool
	}
	if path := c.String("load-cookies"); path != "" {
		jar, err := cookiefile.Load(path)
		if err != nil {
			return opts, usageError{fmt.Errorf("--load-cookies: %w", err)}
		}
		opts.Jar = jar
	}
	return opts, nil
}

// netrcLookup returns a login lookup from the .netrc at path, $NETRC, or
// ~/.netrc, in that order; nil when there is none.
func netrcLookup(path string) (func(host string) (string, string, bool), error) {
	explicit := path != ""
	if path == "" {
		path = os.Getenv("NETRC")
	}
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, nil
		}
		path = filepath.Join(home, ".netrc")
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if explicit {
			return nil, usageError{fmt.Errorf("--netrc-file: %s does not exist", path)}
		}
		return nil, nil
	}
	f, err := netrc.Load(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("netrc: %w", err)}
	}
	return f.Lookup, nil
}
