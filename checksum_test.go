package netfox_test

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/testserver"
)

func TestChecksum(t *testing.T) {
	content := randomBytes(300_000, 80)
	s256, s512, s1, m5 := sha256.Sum256(content), sha512.Sum512(content), sha1.Sum(content), md5.Sum(content)
	s384, s224 := sha512.Sum384(content), sha256.Sum224(content)
	good := []string{
		"sha256=" + hex.EncodeToString(s256[:]),
		"SHA512=" + hex.EncodeToString(s512[:]),
		"sha1=" + hex.EncodeToString(s1[:]),
		"md5=" + strings.ToUpper(hex.EncodeToString(m5[:])),
		// aria2c's spellings.
		"sha-256=" + hex.EncodeToString(s256[:]),
		"SHA-1=" + hex.EncodeToString(s1[:]),
		"sha-384=" + hex.EncodeToString(s384[:]),
		"sha-224=" + hex.EncodeToString(s224[:]),
	}
	srv := testserver.New(t, content)
	for _, flag := range good {
		t.Run(flag[:strings.Index(flag, "=")], func(t *testing.T) {
			sum, err := netfox.ParseChecksum(flag)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out")
			if _, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out, Checksum: sum}); err != nil {
				t.Fatal(err)
			}
			assertFile(t, out, content)
		})
	}

	t.Run("mismatch keeps the .part", func(t *testing.T) {
		wrong := sha256.Sum256([]byte("something else"))
		out := filepath.Join(t.TempDir(), "out")
		_, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out,
			Checksum: &netfox.Checksum{Algo: "sha256", Sum: wrong[:]}})
		if !errors.Is(err, netfox.ErrChecksum) || !strings.Contains(err.Error(), out+".part") {
			t.Fatalf("got %v", err)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Error("a file that failed its checksum got the final name")
		}
		if part, _ := os.ReadFile(out + ".part"); sha256.Sum256(part) != s256 {
			t.Error(".part not kept with the downloaded bytes")
		}
	})
}

func TestParseChecksumErrors(t *testing.T) {
	for _, in := range []string{"", "sha256", "sha256=", "sha256=xyz", "sha256=abcd", "crc32=00000000", "=00", "sha-2=00", "sha--256=00"} {
		if _, err := netfox.ParseChecksum(in); !errors.Is(err, netfox.ErrUsage) {
			t.Errorf("ParseChecksum(%q) = %v, want ErrUsage", in, err)
		}
	}
}

// TestChecksumAllowsUnvalidatedResume: without ETag or Last-Modified a
// resume would start over, unless a checksum will prove the result.
func TestChecksumAllowsUnvalidatedResume(t *testing.T) {
	content := randomBytes(2<<20, 81)
	sum := sha256.Sum256(content)
	srv := testserver.New(t, content, testserver.NoValidators(), testserver.RatePerResponse(1<<20))
	out := filepath.Join(t.TempDir(), "out")
	interrupted(t, srv.FileURL, out, 256<<10)
	res, err := netfox.Download(context.Background(), netfox.Request{URL: srv.FileURL, Output: out,
		Checksum: &netfox.Checksum{Algo: "sha256", Sum: sum[:]}})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, out, content)
	if res.Resumed == 0 {
		t.Error("did not resume although a checksum was given")
	}
}
