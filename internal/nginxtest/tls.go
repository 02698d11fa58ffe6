package nginxtest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Files of the TLS listener inside the server's private directory.
const (
	certFile = "cert.pem"
	keyFile  = "key.pem"
	tlsLog   = "tls_access.log"
)

// writeCertificate makes a self-signed certificate for 127.0.0.1, ::1 and
// localhost, valid for a day, and writes it and its key into dir.
func writeCertificate(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "nginxtest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, certFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, keyFile), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
}

// TLSRequest is one line of the TLS listener's access log.
type TLSRequest struct {
	// Conn is nginx's $connection: the serial number of the TCP
	// connection the request came on.
	Conn int64
	// Status and Bytes are the response's status and body bytes sent.
	Status int
	Bytes  int64
	// Proto is the HTTP version ("HTTP/1.1", "HTTP/2.0"), TLSVersion the
	// TLS one ("TLSv1.3").
	Proto, TLSVersion string
	// Resumed reports whether the connection's TLS session was resumed
	// rather than negotiated in a full handshake.
	Resumed bool
	// Range is the request's Range header, "" when it had none.
	Range string
}

// TLSRequests returns the requests the TLS listener has answered so far
// (see BodyBytesSent for the barrier that makes "so far" exact).
func (s *Server) TLSRequests() ([]TLSRequest, error) {
	if s.TLSURL == "" {
		return nil, fmt.Errorf("nginxtest: no TLS listener (Options.TLS)")
	}
	if err := s.barrier(); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(s.Dir(), tlsLog))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []TLSRequest
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// log_format: $connection $status $body_bytes_sent $server_protocol
		// $ssl_protocol $ssl_session_reused "$http_range"
		fields := strings.Fields(sc.Text())
		if len(fields) != 7 {
			return nil, fmt.Errorf("nginxtest: malformed TLS access log line %q", sc.Text())
		}
		var r TLSRequest
		var errs [3]error
		r.Conn, errs[0] = strconv.ParseInt(fields[0], 10, 64)
		r.Status, errs[1] = strconv.Atoi(fields[1])
		r.Bytes, errs[2] = strconv.ParseInt(fields[2], 10, 64)
		for _, err := range errs {
			if err != nil {
				return nil, fmt.Errorf("nginxtest: malformed TLS access log line %q: %v", sc.Text(), err)
			}
		}
		r.Proto, r.TLSVersion, r.Resumed = fields[3], fields[4], fields[5] == "r"
		if r.Range = strings.Trim(fields[6], `"`); r.Range == "-" {
			r.Range = ""
		}
		out = append(out, r)
	}
	return out, sc.Err()
}
