// Package ftptest starts a private vsftpd on loopback for integration tests.
//
// Each Server is a real vsftpd binary (Debian package vsftpd, tested with
// 3.0.3) running in the foreground (background=NO) as a child process, with
// its own generated configuration, protocol log and secure_chroot_dir inside
// a private temp directory, so nothing under /etc, /var or /srv is read or
// written. It listens on 127.0.0.1 on a free port and serves Options.Root
// read-only to anonymous users, with passive data connections (PASV and EPSV)
// on a private range of loopback ports. Active mode (PORT/EPRT) is disabled.
//
// Things worth knowing about vsftpd as configured here:
//
//   - vsftpd must be started as root: it chroots every anonymous session into
//     Options.Root and then drops to the "ftp" user (or "nobody" when there is
//     no ftp user). Start skips the test when not running as root.
//   - Because sessions run as that unprivileged user, Start makes Root
//     traversable and its files world-readable (see Options.Root). Files added
//     to Root later must be world-readable (e.g. 0644) to be served; others
//     answer "550 Failed to open file."
//   - Inside the chroot the root directory is "/", so "RETR /f.bin" and
//     "RETR f.bin" name the same file. SIZE works in ASCII mode too (with
//     ascii_download_enable off, the default, downloads are never converted)
//     and MDTM answers in UTC (YYYYMMDDHHMMSS).
//   - RETR checks for a data connection before the file: without a prior
//     PASV/EPSV it answers "425 Use PORT or PASV first." even for a missing
//     file; after one, a missing or unreadable file gets 550.
//   - no_anon_password=YES: "USER anonymous" already answers 230, and a
//     following PASS answers "230 Already logged in."
//   - seccomp_sandbox=NO: with vsftpd's seccomp sandbox, PASV/EPSV fail with
//     "500 OOPS: priv_sock_get_int" on current kernels and in containers.
//   - vsftpd forks two processes per connection (a privileged helper and the
//     session proper), and logged-in sessions outlive the listener, so
//     stopping a Server also kills every leftover session process (Linux: they
//     are found by their command line, which names this Server's private
//     config file).
//
// Starting, waiting until vsftpd is ready and stopping it are
// internal/daemon's, shared with internal/nginxtest.
package ftptest

import (
	"bufio"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/daemon"
)

// ErrNotInstalled is returned (wrapped) by start when no vsftpd binary is
// found.
var ErrNotInstalled = daemon.Unavailable("vsftpd not installed (apt-get install vsftpd)")

// errNotRoot is returned (wrapped) by start when not running as root;
// vsftpd refuses to start otherwise (and could not chroot sessions).
var errNotRoot = daemon.Unavailable("vsftpd must be started as root (it chroots anonymous sessions)")

const (
	// stopGrace is how long vsftpd gets to exit after SIGTERM before SIGKILL.
	stopGrace = 3 * time.Second
	// sessionGrace bounds the wait for killed session processes to vanish.
	sessionGrace = 3 * time.Second

	// banner is vsftpd's greeting; readiness requires exactly this, so a
	// foreign listener that grabbed the port is not mistaken for ours.
	banner = "220 netfox test"

	// pasvPorts is the size of the passive port range. vsftpd picks a random
	// port in the range and gives up after 10 tries that find it in use, so
	// the range must be much larger than the number of parallel transfers
	// (32+), also because ranges of concurrent Servers may overlap.
	pasvPorts = 128
	// Passive ranges are probed in [pasvLow, pasvHigh): below Linux's default
	// ephemeral range (32768-60999), so outgoing connections rarely collide.
	pasvLow  = 20000
	pasvHigh = 32000

	maxClients = 200

	logName    = "vsftpd.log"
	outputName = "output.log"
	confName   = "vsftpd.conf"
)

// Options configures a Server.
type Options struct {
	// Root is the directory served read-only to anonymous users (required).
	// It is made absolute.
	//
	// vsftpd serves files as an unprivileged user, and anonymous downloads
	// additionally require world-readable files (anon_world_readable_only).
	// Test temp dirs are 0700 and test files often 0600, so Start adds
	// permission bits in place: r-x for everyone on Root and every directory
	// below it, r for everyone on every regular file, and it removes group
	// and other write permission from Root itself (vsftpd refuses a chroot
	// directory writable by the session user). Symlinks are left alone (and
	// cannot point outside Root, which is a chroot).
	Root string

	// RatePerConn caps each data connection in bytes/s (vsftpd
	// anon_max_rate); 0 = none. It must fit in an int32.
	//
	// vsftpd sleeps after each chunk it sends; the first chunk of a transfer
	// goes out unthrottled. Start sets a small trans_chunk_size (rate/64,
	// clamped to 4-16 KiB; see rateChunk) so that this burst is small and the
	// cap holds closely: 256 KiB at 512 KiB/s takes about 0.49 s.
	RatePerConn int64
}

// Server is a running vsftpd.
type Server struct {
	// URL is the base URL, ftp://127.0.0.1:PORT (no trailing slash).
	URL string

	// Server is the running program; its private directory holds the
	// config, logs and secure_chroot_dir.
	*daemon.Server
	bin, conf string // argv of the listener and its sessions; conf is unique to this Server
}

// Binary reports the vsftpd path or "" when absent. It looks in PATH first
// and then at /usr/sbin/vsftpd, since /usr/sbin is often not in PATH.
func Binary() string { return daemon.Find("vsftpd") }

// Start starts vsftpd; when the binary is absent or the test is not
// running as root the test is skipped, or fails under
// NETFOX_REQUIRE_SERVERS=1 (daemon.Started). It registers t.Cleanup to stop
// vsftpd (and any session processes) and remove its files; if the test
// failed by then, vsftpd's output and protocol log are logged first.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := start(opts)
	daemon.Started(t, "ftptest", s, err)
	return s
}

// Commands returns the FTP commands the server received so far, one string
// per command as logged (e.g. "REST 1048576", "RETR /f.bin", "SIZE /f.bin",
// "MDTM /f.bin", "EPSV", "PASV"), in order, over all connections. Arguments
// appear exactly as the client sent them, except that vsftpd logs any PASS
// argument as "<password>" and replaces unprintable bytes with '?'.
//
// vsftpd logs a command as soon as it has read it, before acting on it, so
// every command whose reply the caller has received is included.
func (s *Server) Commands() ([]string, error) {
	data, err := os.ReadFile(filepath.Join(s.Dir(), logName))
	if err != nil {
		return nil, fmt.Errorf("ftptest: %w", err)
	}
	lines := strings.Split(string(data), "\n")
	lines = lines[:len(lines)-1] // "" or a line still being written
	var cmds []string
	for _, line := range lines {
		if c, ok := parseCommand(line); ok {
			cmds = append(cmds, c)
		}
	}
	return cmds, nil
}

// parseCommand extracts the command from a protocol log line such as
//
//	Sun Nov 22 22:09:33 2026 [pid 14305] [ftp] FTP command: Client "127.0.0.1", "REST 100"
//
// The client address never contains a quote; the command may.
func parseCommand(line string) (string, bool) {
	const marker = `] FTP command: Client "`
	i := strings.Index(line, marker)
	if i < 0 {
		return "", false
	}
	rest := line[i+len(marker):]
	j := strings.Index(rest, `", "`)
	if j < 0 || !strings.HasSuffix(rest, `"`) || len(rest) < j+5 {
		return "", false
	}
	return rest[j+4 : len(rest)-1], true
}

func start(opts Options) (*Server, error) {
	bin := Binary()
	if bin == "" {
		return nil, fmt.Errorf("ftptest: %w", ErrNotInstalled)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("ftptest: %w", errNotRoot)
	}
	root, err := daemon.Root("ftptest", opts.Root)
	if err != nil {
		return nil, err
	}
	opts.Root = root
	if err := checkPath(root); err != nil {
		return nil, err
	}
	if opts.RatePerConn < 0 || opts.RatePerConn > math.MaxInt32 {
		return nil, fmt.Errorf("ftptest: RatePerConn %d out of range [0, %d]", opts.RatePerConn, math.MaxInt32)
	}
	if err := makeReadable(root); err != nil {
		return nil, fmt.Errorf("ftptest: making Options.Root readable: %w", err)
	}
	s := &Server{bin: bin}
	s.Server, err = daemon.Start(daemon.Spec{
		Harness: "ftptest",
		Program: "vsftpd",
		Prepare: func(dir string) error {
			if err := checkPath(dir); err != nil {
				return err
			}
			s.conf = filepath.Join(dir, confName)
			// secure_chroot_dir: empty, root-owned, not writable by the
			// session user. MkdirTemp's 0700 on dir does not matter:
			// vsftpd chroots as root.
			empty := filepath.Join(dir, "empty")
			if err := os.Mkdir(empty, 0o755); err != nil {
				return fmt.Errorf("ftptest: %w", err)
			}
			if err := os.Chmod(empty, 0o555); err != nil {
				return fmt.Errorf("ftptest: %w", err)
			}
			return nil
		},
		Command: func(dir string, port int) (*exec.Cmd, error) {
			pasvMin, err := pasvRange(pasvPorts)
			if err != nil {
				return nil, fmt.Errorf("picking passive ports: %w", err)
			}
			if err := os.WriteFile(s.conf, []byte(config(dir, port, pasvMin, opts)), 0o600); err != nil {
				return nil, err
			}
			return exec.Command(bin, s.conf), nil
		},
		// vsftpd writes fatal errors ("500 OOPS: ...") to fd 0, its control
		// connection in inetd mode, even when standalone.
		Output:        outputName,
		OutputIsStdin: true,
		Logs:          []string{logName},
		LogLines:      200,
		Ready:         func(d *daemon.Server) bool { return probe(d.Addr()) },
		BindFailed:    "could not bind listening",
		// vsftpd has no SIGTERM handler, so it dies at once; an exit "by
		// signal: terminated" is the expected outcome, not an error.
		StopSignal: syscall.SIGTERM,
		StopGrace:  stopGrace,
		// Sessions outlive the listener (until their client disconnects);
		// killing none is cheap, so a second stop may run this again.
		AfterStop: func() error { return killSessions(bin, s.conf, sessionGrace) },
	})
	if err != nil {
		return nil, err
	}
	s.URL = "ftp://" + s.Addr()
	return s, nil
}

// probe reports whether addr greets with our banner: its own banner, not
// just a TCP connect, since if another process grabbed the port the
// connect succeeds while vsftpd fails to bind (and exits).
func probe(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.TrimRight(line, "\r\n") == banner
}

// pasvRange returns the first port of n consecutive loopback ports in
// [pasvLow, pasvHigh) that are all free right now, found by binding them.
// Nothing reserves them afterwards; vsftpd copes with a few being taken (it
// retries another random port in the range).
func pasvRange(n int) (int, error) {
	const tries = 20
	for range tries {
		first := pasvLow + rand.IntN(pasvHigh-pasvLow-n)
		if portsFree(first, n) {
			return first, nil
		}
	}
	return 0, fmt.Errorf("no %d consecutive free ports in [%d, %d) after %d tries", n, pasvLow, pasvHigh, tries)
}

func portsFree(first, n int) bool {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for p := first; p < first+n; p++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return false
		}
		ls = append(ls, l)
	}
	return true
}

// makeReadable lets vsftpd's unprivileged session user traverse root and read
// its files (see Options.Root).
func makeReadable(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var add fs.FileMode
		switch {
		case d.IsDir():
			add = 0o555
		case d.Type().IsRegular():
			add = 0o444
		default:
			return nil // symlinks, devices, sockets: leave alone
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		mode := fi.Mode().Perm() | add
		if path == root {
			mode &^= 0o022
		}
		if mode == fi.Mode().Perm() {
			return nil
		}
		// Keep setuid/setgid/sticky bits as they were.
		return os.Chmod(path, mode|fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
	})
}

// rateChunk returns vsftpd's trans_chunk_size for a rate cap: rate/64
// (pauses of about 16 ms), clamped to [4 KiB, 16 KiB].
//
// vsftpd throttles by sleeping after each sendfile chunk (64 KiB by default)
// long enough that the chunk took size/rate. Two flaws make that leaky:
//
//   - the first chunk of a session's first transfer (and any chunk after a
//     pause longer than its own duration) is not throttled, since the
//     clock starts at the previous chunk;
//   - the rate of a chunk is computed as an unsigned int, so a chunk sent
//     faster than ~4.29 GB/s (a 64 KiB sendfile on loopback often is)
//     overflows, looks slow, and is not throttled either. With the default
//     chunk, 256 KiB at 512 KiB/s took 0.25-0.42 s instead of 0.5 s.
//
// Small chunks make both leaks small: an unthrottled chunk is at most 16 KiB,
// and sending 16 KiB in under 4 µs (the overflow threshold) is rare. The
// floor keeps the per-chunk sleep overhead small at high rates; vsftpd
// itself ignores values below 4096.
func rateChunk(rate int64) int64 {
	return min(max(rate/64, 4096), 16384)
}

// checkPath rejects paths a vsftpd config line cannot carry: the value is the
// rest of the line, taken literally.
func checkPath(p string) error {
	if strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("ftptest: path %q contains characters unusable in vsftpd config", p)
	}
	return nil
}

// ftpUser returns the user anonymous sessions run as: "ftp" (vsftpd's
// default) when it exists, else "nobody".
func ftpUser() string {
	if _, err := user.Lookup("ftp"); err == nil {
		return "ftp"
	}
	return "nobody"
}

// config renders vsftpd.conf. Every path vsftpd would otherwise take from its
// defaults (/var/log, /var/run/vsftpd/empty, /srv/ftp) is set explicitly.
func config(dir string, port, pasvMin int, opts Options) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	// Standalone, in the foreground, IPv4 loopback only.
	p("listen=YES")
	p("listen_ipv6=NO")
	p("listen_address=127.0.0.1")
	p("listen_port=%d", port)
	p("background=NO")
	p("max_clients=%d", maxClients)
	p("max_per_ip=%d", maxClients)
	p("ftpd_banner=%s", strings.TrimPrefix(banner, "220 "))

	// Anonymous, read-only, chrooted into Root.
	p("anonymous_enable=YES")
	p("local_enable=NO")
	p("write_enable=NO")
	p("anon_upload_enable=NO")
	p("anon_mkdir_write_enable=NO")
	p("anon_other_write_enable=NO")
	p("anon_root=%s", opts.Root)
	p("no_anon_password=YES")
	p("ftp_username=%s", ftpUser())
	p("hide_ids=YES")
	p("anon_max_rate=%d", opts.RatePerConn)
	if opts.RatePerConn > 0 {
		p("trans_chunk_size=%d", rateChunk(opts.RatePerConn))
	}

	// Passive mode only, on a private port range.
	p("pasv_enable=YES")
	p("pasv_address=127.0.0.1")
	p("pasv_min_port=%d", pasvMin)
	p("pasv_max_port=%d", pasvMin+pasvPorts-1)
	p("port_enable=NO")
	p("connect_from_port_20=NO")

	// Containers and modern kernels: the seccomp sandbox breaks PASV/EPSV.
	p("seccomp_sandbox=NO")
	p("secure_chroot_dir=%s", filepath.Join(dir, "empty"))

	// Protocol log (vsftpd format) in dir; no xferlog, no syslog.
	p("xferlog_enable=YES")
	p("xferlog_std_format=NO")
	p("dual_log_enable=NO")
	p("syslog_enable=NO")
	p("log_ftp_protocol=YES")
	p("vsftpd_log_file=%s", filepath.Join(dir, logName))
	p("use_localtime=NO")
	return b.String()
}
