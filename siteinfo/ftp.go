package siteinfo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/jlaffaye/ftp"

	"github.com/netfox/netfox/byterange"
	"github.com/netfox/netfox/retry"
)

// FTP: each probe and each range has its own control connection, logged
// in, in binary mode. A range is REST offset + RETR, read for exactly its
// length and then cut: an FTP server cannot stop at an end offset. FTP has
// no If-Range, so every range first asks SIZE and MDTM again on its control
// connection and refuses to read a file that is not the version probed.

// ftpTimeout bounds connecting and each command.
const ftpTimeout = 30 * time.Second

// ftpDial connects and logs in to the server of u, for the file asked for
// at origin: the credentials given for origin when MaySendCredentials
// allows, else anonymous.
func (c *Client) ftpDial(ctx context.Context, u, origin *url.URL) (*ftp.ServerConn, error) {
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "21")
	}
	conn, err := ftp.Dial(host, ftp.DialWithContext(ctx), ftp.DialWithTimeout(ftpTimeout), ftp.DialWithDisabledUTF8(true))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &NetError{Host: host, Err: err}
	}
	user, pass, ok := c.credentials(origin)
	if !ok || !MaySendCredentials(origin, u, c.LocationTrusted) {
		user, pass = "anonymous", "netfox@"
	}
	if err := conn.Login(user, pass); err != nil {
		conn.Quit()
		return nil, ftpError("login as "+user, host, err)
	}
	if err := conn.Type(ftp.TransferTypeBinary); err != nil {
		conn.Quit()
		return nil, ftpError("TYPE I", host, err)
	}
	return conn, nil
}

// ftpError classifies a server's refusal: 5xx replies are permanent
// (no such file, login refused), 4xx transient.
func ftpError(what, host string, err error) error {
	var tpErr *textproto.Error
	if errors.As(err, &tpErr) {
		se := &StatusError{Code: tpErr.Code, Status: fmt.Sprintf("%d %s", tpErr.Code, tpErr.Msg), URL: "ftp://" + host}
		se.ftp = what
		return se
	}
	return &NetError{Host: host, Err: err}
}

// ftpFileError is ftpError for a command on the file of u: a 550 reply
// there says the file is not available (RFC 959: "file not found, no
// access"), which the error's message names as not found.
func ftpFileError(what string, u *url.URL, err error) error {
	err = ftpError(what, u.Host, err)
	if se, ok := err.(*StatusError); ok {
		se.file = ftpPath(u)
	}
	return err
}

// ftpPath is the file's path on the server, as the URL spells it.
func ftpPath(u *url.URL) string {
	p := u.Path
	if p == "" {
		p = "/"
	}
	return p
}

func (c *Client) probeFTP(ctx context.Context, u *url.URL) (Info, error) {
	conn, err := c.ftpDial(ctx, u, u)
	if err != nil {
		return Info{}, err
	}
	defer conn.Quit()
	info := Info{URL: u.String(), Requested: u.String(), Length: -1, Filename: Sanitize(path.Base(u.Path))}
	if strings.HasSuffix(u.Path, "/") {
		info.Filename = fallbackName
	}
	size, err := conn.FileSize(ftpPath(u))
	if err != nil {
		var tpErr *textproto.Error
		if errors.As(err, &tpErr) && tpErr.Code == ftp.StatusFileUnavailable {
			return Info{}, ftpFileError("SIZE", u, err)
		}
		// No SIZE: one stream, read to its end.
		return info, nil
	}
	info.Length = size
	// REST is what makes ranges possible; servers that answer SIZE
	// almost all have it, and a refusal of REST shows up as
	// ErrRangeNotSupported on the first range, which falls back to one
	// stream.
	info.Ranges = true
	if mt, err := conn.GetTime(ftpPath(u)); err == nil {
		info.LastModified = mt.UTC().Format(http.TimeFormat)
	}
	return info, nil
}

// ftpVersion is what SIZE and MDTM say now, for comparison with the probe.
func ftpVersion(conn *ftp.ServerConn, p string) (Info, error) {
	var now Info
	size, err := conn.FileSize(p)
	if err != nil {
		return now, err
	}
	now.Length = size
	if mt, err := conn.GetTime(p); err == nil {
		now.LastModified = mt.UTC().Format(http.TimeFormat)
	}
	return now, nil
}

// openFTP fetches bytes [r.Start, r.End) (or from r.Start to the end when
// r.End < 0) of the version in rm.Info.
func (rm *Remote) openFTP(ctx context.Context, r byterange.Range) (io.ReadCloser, error) {
	u, err := url.Parse(rm.Info.URL)
	if err != nil {
		return nil, err
	}
	origin := u
	if o, err := url.Parse(rm.Info.Requested); err == nil && rm.Info.Requested != "" {
		origin = o
	}
	conn, err := rm.Client.ftpDial(ctx, u, origin)
	if err != nil {
		return nil, err
	}
	p := ftpPath(u)
	if rm.Info.Length >= 0 {
		now, err := ftpVersion(conn, p)
		if err != nil {
			conn.Quit()
			return nil, ftpFileError("SIZE", u, err)
		}
		if CompareVersions(rm.Info, now) == VersionChanged {
			conn.Quit()
			return nil, retry.Permanent(fmt.Errorf("%w: %s", ErrRemoteChanged, describeFTPChange(rm.Info, now)))
		}
	}
	resp, err := conn.RetrFrom(p, uint64(r.Start))
	if err != nil {
		conn.Quit()
		var tpErr *textproto.Error
		if r.Start > 0 && errors.As(err, &tpErr) && (tpErr.Code == ftp.StatusNotImplemented || tpErr.Code == ftp.StatusNotImplementedParameter || tpErr.Code == ftp.StatusBadArguments) {
			return nil, retry.Permanent(fmt.Errorf("%w: the FTP server refused REST %d", ErrRangeNotSupported, r.Start))
		}
		return nil, ftpFileError(fmt.Sprintf("REST %d + RETR", r.Start), u, err)
	}
	body := &ftpBody{conn: conn, resp: resp, left: -1}
	if r.End >= 0 {
		body.left = r.Len()
	}
	// Cancelling ctx (a stall, a slow connection, Ctrl-C) must end a
	// blocked Read: a past deadline does.
	body.stop = context.AfterFunc(ctx, func() { resp.SetDeadline(time.Unix(1, 0)) })
	return body, nil
}

func describeFTPChange(was, now Info) string {
	if was.Length != now.Length {
		return fmt.Sprintf("SIZE was %d, now %d", was.Length, now.Length)
	}
	return fmt.Sprintf("MDTM was %s, now %s", was.LastModified, now.LastModified)
}

// ftpBody reads a RETR's data connection, at most left bytes when left is
// not negative, and closes both connections at the end.
type ftpBody struct {
	conn *ftp.ServerConn
	resp *ftp.Response
	left int64
	stop func() bool
}

func (b *ftpBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.EOF
	}
	if b.left > 0 && int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.resp.Read(p)
	if b.left > 0 {
		b.left -= int64(n)
	}
	return n, err
}

// Close cuts the data connection (the server then reports the transfer
// aborted, which is expected for a range) and the control connection.
func (b *ftpBody) Close() error {
	b.stop()
	b.resp.SetDeadline(time.Now().Add(2 * time.Second))
	b.resp.Close()
	b.conn.Quit()
	return nil
}
