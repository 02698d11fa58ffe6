package siteinfo

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"

	"github.com/netfox/netfox/retry"
)

// TestStatusErrorClass: which answers the fetcher retries (transient),
// which end the download (permanent), and which say the server is
// overloaded, so that fewer connections are used.
func TestStatusErrorClass(t *testing.T) {
	tests := []struct {
		code                  int
		ftp                   string // the FTP command refused; "" for HTTP
		permanent, overloaded bool
	}{
		{http.StatusBadRequest, "", true, false},
		{http.StatusUnauthorized, "", true, false},
		{http.StatusForbidden, "", true, false},
		{http.StatusNotFound, "", true, false},
		{http.StatusRequestTimeout, "", false, false},
		{http.StatusGone, "", true, false},
		{http.StatusTooEarly, "", false, false},
		{http.StatusTooManyRequests, "", false, true},
		{http.StatusUnavailableForLegalReasons, "", true, false},
		{http.StatusInternalServerError, "", false, false},
		{http.StatusBadGateway, "", false, false},
		{http.StatusServiceUnavailable, "", false, true},
		{http.StatusGatewayTimeout, "", false, false},
		{302, "", false, false},
		{421, "RETR", false, true},
		{425, "RETR", false, false},
		{450, "RETR", false, false},
		{530, "PASS", true, false},
		{550, "RETR", true, false},
	}
	for _, tt := range tests {
		e := &StatusError{Code: tt.code, ftp: tt.ftp}
		if got := e.Permanent(); got != tt.permanent {
			t.Errorf("%d %s: Permanent %v, want %v", tt.code, tt.ftp, got, tt.permanent)
		}
		if got := e.Overloaded(); got != tt.overloaded {
			t.Errorf("%d %s: Overloaded %v, want %v", tt.code, tt.ftp, got, tt.overloaded)
		}
		// The retry policy sees it wrapped.
		wrapped := fmt.Errorf("range 0-9: %w", e)
		if got := retry.IsPermanent(wrapped); got != tt.permanent {
			t.Errorf("%d %s wrapped: IsPermanent %v, want %v", tt.code, tt.ftp, got, tt.permanent)
		}
		if got := retry.IsOverloaded(wrapped); got != tt.overloaded {
			t.Errorf("%d %s wrapped: IsOverloaded %v, want %v", tt.code, tt.ftp, got, tt.overloaded)
		}
	}
}

// TestNetErrorClass: a host that does not exist or a certificate that is
// not trusted will not change on a retry; a refused, reset or timed-out
// connection may.
func TestNetErrorClass(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		permanent bool
	}{
		{"unknown host", &net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}, true},
		{"DNS timeout", &net.DNSError{Err: "timeout", Name: "slow.example", IsTimeout: true}, false},
		{"untrusted certificate", x509.UnknownAuthorityError{}, true},
		{"wrong host in certificate", x509.HostnameError{Host: "a.example"}, true},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, false},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, false},
		{"timeout", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, false},
	}
	for _, tt := range tests {
		e := &NetError{Host: "h.example", Err: tt.err}
		if got := e.Permanent(); got != tt.permanent {
			t.Errorf("%s: Permanent %v, want %v", tt.name, got, tt.permanent)
		}
		if got := retry.IsPermanent(e); got != tt.permanent {
			t.Errorf("%s: IsPermanent %v, want %v", tt.name, got, tt.permanent)
		}
	}
}
