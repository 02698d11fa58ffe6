//go:build !windows

package syserr

import (
	"errors"
	"io"
	"net"
	"testing"
)

// A peer that closes with SO_LINGER 0 resets the connection: the read
// that sees it is a ConnReset. (Under Wine the same peer gives EOF, so
// the Windows codes are checked as values in syserr_windows_test.go.)
func TestConnReset(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			// Reset only once the client is connected and has spoken.
			_, err = c.Read(make([]byte, 1))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
		accepted <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
	_, err = c.Read(make([]byte, 1))
	if errors.Is(err, io.EOF) || !ConnReset(err) {
		t.Fatalf("read from a reset connection: %v, want a ConnReset", err)
	}
	for _, other := range []error{nil, io.EOF, errors.New("reset")} {
		if ConnReset(other) || TooManyFiles(other) || NoBuffers(other) {
			t.Errorf("%v taken for a system error", other)
		}
	}
}
