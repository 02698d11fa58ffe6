package bench

import (
	"crypto/rand"
	"io"
	"os"
	"path/filepath"

	"github.com/netfox/netfox/serve"
)

// Local is an embedded server for a benchmark without a URL: a generated
// file on loopback, behind per-connection and link caps like a mirror's.
type Local struct {
	// URL of the generated file.
	URL string

	dir  string
	stop func()
}

// LocalOptions configures StartLocal.
type LocalOptions struct {
	Size        int64 // bytes of the generated file
	RatePerConn int64 // bytes/s per connection
	RateTotal   int64 // bytes/s for all connections together; 0 for none
	Dir         string
}

// StartLocal generates the file and starts serving it on 127.0.0.1.
func StartLocal(opts LocalOptions) (_ *Local, err error) {
	dir, err := os.MkdirTemp(opts.Dir, "netfox-bench-srv-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	f, err := os.Create(filepath.Join(dir, "bench.bin"))
	if err != nil {
		return nil, err
	}
	_, err = io.CopyN(f, rand.Reader, opts.Size)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return nil, err
	}
	srv := serve.New(serve.Options{Dir: dir, RatePerConn: opts.RatePerConn, RateTotal: opts.RateTotal})
	base, stop, err := srv.Start("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &Local{URL: base + "/bench.bin", dir: dir, stop: stop}, nil
}

// Close stops the server and removes the file.
func (l *Local) Close() error {
	l.stop()
	return os.RemoveAll(l.dir)
}
