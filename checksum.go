package netfox

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/netfox/netfox/fileaccess"
)

// Checksum is the digest a download must have, checked after the last
// byte and before the file gets its final name.
type Checksum struct {
	// Algo is sha256, sha512, sha384, sha224, sha1 or md5.
	Algo string
	// Sum is the expected digest.
	Sum []byte
}

// newHash returns a hash for algo, and whether Checksum accepts algo.
func newHash(algo string) (hash.Hash, bool) {
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

// ParseChecksum reads "ALGO=HEX", e.g. "sha256=9f86d0...". ALGO is
// case-insensitive and may be spelt as aria2c's --checksum spells it,
// with a hyphen: sha-256, sha-512, sha-384, sha-224, sha-1.
func ParseChecksum(s string) (*Checksum, error) {
	algo, hexSum, ok := strings.Cut(strings.TrimSpace(s), "=")
	algo = canonicalAlgo(algo)
	h, known := newHash(algo)
	if !ok || !known {
		return nil, fmt.Errorf("%w: checksum %q: want ALGO=HEX with ALGO sha256, sha512, sha384, sha224, sha1 or md5 (sha-256 as aria2c spells it works too)", ErrUsage, s)
	}
	sum, err := hex.DecodeString(strings.TrimSpace(hexSum))
	if err != nil || len(sum) != h.Size() {
		return nil, fmt.Errorf("%w: checksum %q: a %s digest is %d hex digits", ErrUsage, s, algo, 2*h.Size())
	}
	return &Checksum{Algo: algo, Sum: sum}, nil
}

// canonicalAlgo is the name newHash knows for an algorithm as a user may
// spell it: "SHA-256", "sha-256" and "sha256" are one.
func canonicalAlgo(algo string) string {
	algo = strings.ToLower(strings.TrimSpace(algo))
	if strings.HasPrefix(algo, "sha-") {
		algo = "sha" + algo[len("sha-"):]
	}
	return algo
}

// String formats the checksum as ALGO=HEX.
func (c *Checksum) String() string { return c.Algo + "=" + hex.EncodeToString(c.Sum) }

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
	h, ok := newHash(c.Algo)
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
