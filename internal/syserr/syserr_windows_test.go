//go:build windows

package syserr

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/windows"
)

// The errors Go's net package returns on Windows carry WinSock's codes,
// wrapped as net does; Unix's errno values, which syscall defines on
// Windows too as made-up numbers, are not these.
func TestWindowsCodes(t *testing.T) {
	wrap := func(code syscall.Errno) error {
		return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("wsarecv", code)}
	}
	if !ConnReset(wrap(windows.WSAECONNRESET)) {
		t.Error("WSAECONNRESET is not a ConnReset")
	}
	if !TooManyFiles(wrap(windows.WSAEMFILE)) || !TooManyFiles(&os.PathError{Op: "open", Path: "f", Err: windows.ERROR_TOO_MANY_OPEN_FILES}) {
		t.Error("WSAEMFILE or ERROR_TOO_MANY_OPEN_FILES is not TooManyFiles")
	}
	if !NoBuffers(wrap(windows.WSAENOBUFS)) {
		t.Error("WSAENOBUFS is not NoBuffers")
	}
	if syscall.ECONNRESET == windows.WSAECONNRESET || ConnReset(wrap(syscall.ECONNRESET)) {
		t.Error("Unix's ECONNRESET taken for WinSock's")
	}
	if ConnReset(errors.New("connection reset")) {
		t.Error("an error's text taken for its code")
	}
}
