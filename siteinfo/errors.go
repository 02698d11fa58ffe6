package siteinfo

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
)

// ErrBadURL indicates a URL that cannot be fetched: malformed, without a
// host, or with a scheme netfox does not speak.
var ErrBadURL = errors.New("bad URL")

// ErrRemoteChanged indicates that the remote file is not the version the
// download started with: its validators or length differ, or it answered
// an If-Range request with the whole new file.
var ErrRemoteChanged = errors.New("remote file changed")

// ErrRangeNotSupported indicates that the server ignores Range requests
// for this file: it answered a ranged request with the whole file of the
// same version.
var ErrRangeNotSupported = errors.New("server does not support byte ranges")

// ErrBadResponse indicates an answer that contradicts the request: a
// Content-Range other than the range asked for, a Content-Length that
// disagrees with it, or a compressed body. Nothing of such a body is
// written.
var ErrBadResponse = errors.New("server sent a response that does not match the request")

// NetError is a failure to talk to a host at all: DNS, connect, TLS, a
// connection reset or timed out. Its message says which, in words.
type NetError struct {
	Host string
	Err  error // as returned by net/http
}

func (e *NetError) Unwrap() error { return e.Err }

// Permanent reports whether retrying cannot help: an unknown host or an
// untrusted certificate.
func (e *NetError) Permanent() bool {
	var (
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		hostErr x509.HostnameError
	)
	return (errors.As(e.Err, &dnsErr) && dnsErr.IsNotFound) ||
		errors.As(e.Err, &certErr) || errors.As(e.Err, &unknown) || errors.As(e.Err, &hostErr)
}

// Dial reports whether the connection could not be set up at all (DNS or
// connect), as opposed to failing once established.
func (e *NetError) Dial() bool {
	var (
		dnsErr *net.DNSError
		opErr  *net.OpError
	)
	return errors.As(e.Err, &dnsErr) || (errors.As(e.Err, &opErr) && opErr.Op == "dial")
}

func (e *NetError) Error() string {
	var (
		dnsErr  *net.DNSError
		opErr   *net.OpError
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		netErr  net.Error
	)
	inner := e.Err
	var urlErr *url.Error
	if errors.As(inner, &urlErr) {
		inner = urlErr.Err // drop the `Get "URL":` prefix; Host says where
	}
	switch {
	case errors.As(inner, &dnsErr):
		return "cannot resolve host " + dnsErr.Name + ": " + dnsErr.Err
	case errors.As(inner, &certErr), errors.As(inner, &unknown):
		return "TLS certificate of " + e.Host + " is not trusted: " + inner.Error()
	case errors.As(inner, &opErr) && opErr.Op == "dial":
		return "cannot connect to " + e.Host + ": " + opErr.Err.Error()
	case errors.As(inner, &netErr) && netErr.Timeout():
		return "timed out talking to " + e.Host + ": " + inner.Error()
	}
	return "connection to " + e.Host + " failed: " + inner.Error()
}
