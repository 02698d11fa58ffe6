package ftptest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netfox/netfox/internal/daemon"
)

// writeRandom creates dir/name with n random bytes (mode 0600, as tests
// usually do, so Start's chmod is exercised) and returns the content.
func writeRandom(t *testing.T, dir, name string, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return data
}

// client is a minimal FTP control connection.
type client struct {
	t *testing.T
	*textproto.Conn
}

func dial(t *testing.T, s *Server) *client {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "ftp" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
		t.Fatalf("URL = %q, want ftp://127.0.0.1:PORT", s.URL)
	}
	nc, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	c := &client{t, textproto.NewConn(nc)}
	t.Cleanup(func() { c.Close() })
	if _, msg, err := c.ReadResponse(220); err != nil {
		t.Fatalf("banner: %v", err)
	} else if msg != "netfox test" {
		t.Errorf("banner = %q, want %q", msg, "netfox test")
	}
	return c
}

// cmd sends a command and expects a reply with the given code (or, for
// expect < 10, any code of that class), returning the reply text.
func (c *client) cmd(expect int, format string, args ...any) string {
	c.t.Helper()
	if _, err := c.Cmd(format, args...); err != nil {
		c.t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
	_, msg, err := c.ReadResponse(expect)
	if err != nil {
		c.t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
	return msg
}

// login logs in anonymously. With no_anon_password=YES vsftpd already
// answers USER with 230; PASS then answers "230 Already logged in.".
func (c *client) login() {
	c.t.Helper()
	c.cmd(2, "USER anonymous")
	c.cmd(230, "PASS x")
}

var epsvRE = regexp.MustCompile(`\(\|\|\|(\d+)\|\)`)

// epsv enters extended passive mode and dials the data port.
func (c *client) epsv() net.Conn {
	c.t.Helper()
	msg := c.cmd(229, "EPSV")
	m := epsvRE.FindStringSubmatch(msg)
	if m == nil {
		c.t.Fatalf("EPSV: cannot parse %q", msg)
	}
	return c.dialData(m[1])
}

var pasvRE = regexp.MustCompile(`\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)`)

// pasv enters passive mode and dials the data address, which must be ours.
func (c *client) pasv() net.Conn {
	c.t.Helper()
	msg := c.cmd(227, "PASV")
	m := pasvRE.FindStringSubmatch(msg)
	if m == nil {
		c.t.Fatalf("PASV: cannot parse %q", msg)
	}
	if ip := strings.Join(m[1:5], "."); ip != "127.0.0.1" {
		c.t.Fatalf("PASV: address %s, want 127.0.0.1", ip)
	}
	hi, _ := strconv.Atoi(m[5])
	lo, _ := strconv.Atoi(m[6])
	return c.dialData(strconv.Itoa(hi<<8 | lo))
}

func (c *client) dialData(port string) net.Conn {
	c.t.Helper()
	d, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), 5*time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	d.SetDeadline(time.Now().Add(30 * time.Second))
	c.t.Cleanup(func() { d.Close() })
	return d
}

// retr downloads name over data (already connected) and returns the bytes.
func (c *client) retr(data net.Conn, name string) []byte {
	c.t.Helper()
	c.cmd(150, "RETR %s", name)
	got, err := io.ReadAll(data)
	if err != nil {
		c.t.Fatalf("RETR %s: reading data: %v", name, err)
	}
	data.Close()
	if _, _, err := c.ReadResponse(226); err != nil {
		c.t.Fatalf("RETR %s: %v", name, err)
	}
	return got
}

func TestRestRetr(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	const size = 300_000
	file := writeRandom(t, root, "f.bin", size)
	s := Start(t, Options{Root: root})

	c := dial(t, s)
	c.login()
	c.cmd(200, "TYPE I")
	if msg := c.cmd(213, "SIZE /f.bin"); msg != strconv.Itoa(size) {
		t.Errorf("SIZE /f.bin = %q, want %d", msg, size)
	}
	fi, err := os.Stat(filepath.Join(root, "f.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if msg, want := c.cmd(213, "MDTM /f.bin"), fi.ModTime().UTC().Format("20060102150405"); msg != want {
		t.Errorf("MDTM /f.bin = %q, want %q", msg, want)
	}
	data := c.epsv()
	c.cmd(350, "REST 100")
	if got := c.retr(data, "/f.bin"); !bytes.Equal(got, file[100:]) {
		t.Errorf("REST 100 + RETR /f.bin: got %d bytes, want file[100:] (%d bytes)", len(got), size-100)
	}
	c.cmd(221, "QUIT")

	cmds, err := s.Commands()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"USER anonymous", "PASS <password>", "TYPE I", "SIZE /f.bin", "MDTM /f.bin", "EPSV", "REST 100", "RETR /f.bin", "QUIT"}
	if !slices.Equal(cmds, want) {
		t.Errorf("Commands() = %q, want %q", cmds, want)
	}
	i := slices.Index(cmds, "REST 100")
	if i < 0 || i+1 >= len(cmds) || cmds[i+1] != "RETR /f.bin" {
		t.Errorf("Commands() = %q, want REST 100 followed by RETR /f.bin", cmds)
	}
}

// TestPasvRelativeASCII checks PASV, paths without the leading slash, SIZE
// in ASCII mode, a file in a subdirectory, and that non-world-readable files
// added after Start are refused.
func TestPasvRelativeASCII(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	file := writeRandom(t, filepath.Join(root, "sub"), "g.bin", 70_000)
	s := Start(t, Options{Root: root})
	late := writeRandom(t, root, "late.bin", 10) // 0600, after Start

	c := dial(t, s)
	c.login()
	if msg := c.cmd(257, "PWD"); !strings.HasPrefix(msg, `"/"`) {
		t.Errorf("PWD = %q, want \"/\"", msg)
	}
	// Default TYPE is ASCII; vsftpd answers SIZE anyway.
	if msg := c.cmd(213, "SIZE sub/g.bin"); msg != "70000" {
		t.Errorf("SIZE sub/g.bin (ASCII) = %q, want 70000", msg)
	}
	c.cmd(200, "TYPE I")
	if got := c.retr(c.pasv(), "sub/g.bin"); !bytes.Equal(got, file) {
		t.Errorf("PASV + RETR sub/g.bin: got %d bytes, want %d", len(got), len(file))
	}
	c.cmd(250, "CWD sub")
	if got := c.retr(c.epsv(), "g.bin"); !bytes.Equal(got, file) {
		t.Errorf("EPSV + RETR g.bin in /sub: got %d bytes, want %d", len(got), len(file))
	}
	c.cmd(550, "SIZE /nonexistent")
	// vsftpd wants the data connection set up before it opens the file.
	data := c.epsv()
	c.cmd(550, "RETR /late.bin")
	data.Close()
	if err := os.Chmod(filepath.Join(root, "late.bin"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := c.retr(c.epsv(), "/late.bin"); !bytes.Equal(got, late) {
		t.Errorf("RETR /late.bin after chmod 0644: got %q, want %q", got, late)
	}
	c.epsv()
	c.cmd(550, "STOR /x") // read-only
}

func TestRatePerConn(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	const size = 256 << 10
	file := writeRandom(t, root, "f.bin", size)
	s := Start(t, Options{Root: root, RatePerConn: 512 << 10})

	c := dial(t, s)
	c.login()
	c.cmd(200, "TYPE I")
	data := c.epsv()
	start := time.Now()
	got := c.retr(data, "/f.bin")
	elapsed := time.Since(start)
	if !bytes.Equal(got, file) {
		t.Fatalf("RETR: got %d bytes, want %d", len(got), size)
	}
	t.Logf("%d bytes at 512 KiB/s took %v", size, elapsed)
	if elapsed < 300*time.Millisecond {
		t.Errorf("RETR of 256 KiB at 512 KiB/s took %v, want >= 300ms", elapsed)
	}
	if elapsed > 5*time.Second {
		t.Errorf("RETR of 256 KiB at 512 KiB/s took %v, want well under 5s", elapsed)
	}
}

// TestParallel runs more concurrent sessions and passive transfers than a
// typical download test, each on its own control connection.
func TestParallel(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	file := writeRandom(t, root, "f.bin", 1<<20)
	s := Start(t, Options{Root: root})

	const n = 40
	clients := make([]*client, n)
	datas := make([]net.Conn, n)
	for i := range n {
		clients[i] = dial(t, s)
		clients[i].login()
		clients[i].cmd(200, "TYPE I")
		datas[i] = clients[i].epsv() // all n passive listeners at once
		clients[i].cmd(350, "REST %d", i*1000)
	}
	var wg sync.WaitGroup
	got := make([][]byte, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			c := clients[i]
			if _, err := c.Cmd("RETR /f.bin"); err != nil {
				errs[i] = err
				return
			}
			if _, _, err := c.ReadResponse(150); err != nil {
				errs[i] = err
				return
			}
			if got[i], errs[i] = io.ReadAll(datas[i]); errs[i] != nil {
				return
			}
			_, _, errs[i] = c.ReadResponse(226)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("client %d: %v", i, errs[i])
		} else if !bytes.Equal(got[i], file[i*1000:]) {
			t.Errorf("client %d: got %d bytes, want file[%d:]", i, len(got[i]), i*1000)
		}
	}
	cmds, err := s.Commands()
	if err != nil {
		t.Fatal(err)
	}
	if c := count(cmds, "RETR /f.bin"); c != n {
		t.Errorf("Commands(): %d RETR /f.bin, want %d", c, n)
	}
}

func count(s []string, v string) (n int) {
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// TestStopKillsSessions checks that stopping leaves no vsftpd process behind,
// even with a logged-in session whose client is still connected (such a
// session outlives the listener).
func TestStopKillsSessions(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeRandom(t, root, "f.bin", 10)
	s, err := start(Options{Root: root})
	if errors.Is(err, ErrNotInstalled) || errors.Is(err, errNotRoot) {
		daemon.Missing(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	stop := daemon.Stopper(s)
	defer stop()
	c := dial(t, s)
	c.login()
	data := c.epsv()
	want := []byte(s.bin + "\x00" + s.conf + "\x00")
	if pids := sessionPids(want); runtime.GOOS == "linux" && len(pids) < 3 { // listener + 2 per session
		t.Errorf("before stop: %d vsftpd processes %v, want >= 3", len(pids), pids)
	}
	if err := stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	if err := stop(); err != nil { // idempotent
		t.Errorf("second stop: %v", err)
	}
	if pids := sessionPids(want); len(pids) != 0 {
		t.Errorf("after stop: vsftpd processes %v still running", pids)
	}
	// The client sees the connection go away.
	c.R.ReadLine()
	data.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := data.Read(make([]byte, 1)); err == nil {
		t.Errorf("data connection still delivering after stop")
	}
	if _, err := os.Stat(s.Dir()); !os.IsNotExist(err) {
		t.Errorf("temp dir %s not removed: %v", s.Dir(), err)
	}
}

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		line, want string
		ok         bool
	}{
		{`Sun Nov 22 22:09:33 2026 [pid 14305] [ftp] FTP command: Client "127.0.0.1", "REST 100"`, "REST 100", true},
		{`Sun Nov 22 22:09:33 2026 [pid 14303] FTP command: Client "127.0.0.1", "USER anonymous"`, "USER anonymous", true},
		{`Sun Nov 22 22:09:33 2026 [pid 14305] [ftp] FTP command: Client "127.0.0.1", "RETR a", "b"`, `RETR a", "b`, true},
		{`Sun Nov 22 22:09:33 2026 [pid 14305] [ftp] FTP command: Client "127.0.0.1", ""`, "", true},
		{`Sun Nov 22 22:09:33 2026 [pid 14305] [ftp] FTP response: Client "127.0.0.1", "226 Transfer complete."`, "", false},
		{`Sun Nov 22 22:09:33 2026 [pid 14303] CONNECT: Client "127.0.0.1"`, "", false},
		{`Sun Nov 22 22:09:33 2026 [pid 14305] [ftp] FTP command: Client "127.0.0.1", "REST`, "", false},
	} {
		got, ok := parseCommand(tc.line)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseCommand(%q) = %q, %v; want %q, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}
