package engine

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"io"

	"github.com/netfox/netfox/fileaccess"
)

// Checksum is the digest a download must have (netfox.Checksum), checked
// after the last byte and before the file gets its final name.
type Checksum struct {
	Algo string
	Sum  []byte
}

// NewHash returns a hash for algo, and whether a Checksum may name algo:
// sha256, sha512, sha384, sha224, sha1 or md5.
func NewHash(algo string) (hash.Hash, bool) {
	switch algo {
	case "sha256":
		return sha256.New(), true
	case "sha512":
		return sha512.New(), true
	case "sha384":
		return sha512.New384(), true
	case "sha224":
		return sha256.New224(), true
	case "sha1":
		return sha1.New(), true
	case "md5":
		return md5.New(), true
	}
	return nil, false
}

// verify reads the file at path (a regular file of the user's, see
// fileaccess.OpenOwned) and compares its digest with c.
func (c *Checksum) verify(path string) error {
	f, err := fileaccess.OpenOwned(path, fileaccess.UseOwn)
	if err != nil {
		return ioError(err)
	}
	defer f.Close()
	return c.verifyData(f, path)
}

// verifyData reads data, the contents of the file at path, and compares
// its digest with c.
func (c *Checksum) verifyData(data io.Reader, path string) error {
	h, ok := NewHash(c.Algo)
	if !ok {
		return fmt.Errorf("%w: unknown checksum algorithm %q", ErrUsage, c.Algo)
	}
	if _, err := io.Copy(h, data); err != nil {
		return ioError(err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, c.Sum) {
		return fmt.Errorf("%w: %s of %s is %x, expected %x; the data stays in %s",
			ErrChecksum, c.Algo, path, got, c.Sum, path)
	}
	return nil
}
