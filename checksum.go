package netfox

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/netfox/netfox/internal/engine"
)

// Checksum is the digest a download must have, checked after the last
// byte and before the file gets its final name.
type Checksum struct {
	// Algo is sha256, sha512, sha384, sha224, sha1 or md5.
	Algo string
	// Sum is the expected digest.
	Sum []byte
}

// ParseChecksum reads "ALGO=HEX", e.g. "sha256=9f86d0...". ALGO is
// case-insensitive and may be spelt as aria2c's --checksum spells it,
// with a hyphen: sha-256, sha-512, sha-384, sha-224, sha-1.
func ParseChecksum(s string) (*Checksum, error) {
	algo, hexSum, ok := strings.Cut(strings.TrimSpace(s), "=")
	algo = canonicalAlgo(algo)
	h, known := engine.NewHash(algo)
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
