package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/netfox/netfox"
	"github.com/netfox/netfox/internal/ui"
	"github.com/netfox/netfox/internal/units"
)

func getCommand() *cli.Command {
	return &cli.Command{
		Name:         "get",
		Usage:        "download a file over several connections, resuming where an earlier run stopped",
		OnUsageError: onUsageError,
		ArgsUsage:    "URL [MIRROR...] | -i FILE",
		Description: `Downloads URL into one file over N parallel range requests. Data goes to
PATH.part and progress to PATH.info; on success PATH.part becomes PATH. After an
interruption (Ctrl-C, kill, network loss, reboot) the same command resumes.

Examples:
   netfox get https://example.com/big.iso
   netfox get -n 16 -o /tmp/big.iso https://example.com/big.iso
   netfox get -d ~/Downloads https://example.com/big.iso  # into ~/Downloads, created when missing
   netfox get -n auto https://example.com/big.iso      # N found by measurement, remembered per host
   netfox get --restart https://example.com/big.iso     # discard the partial download
   netfox get -c https://example.com/big.iso            # continue a partial big.iso from a browser, curl or wget
   netfox get https://a.example/f.iso ftp://b.example/pub/f.iso   # two mirrors of one file
   netfox get --checksum sha256=9f86d08... https://example.com/f.iso   # or sha-256=, as aria2c
   netfox get example.com/f.tar.gz -o - | tar xz       # stream to stdout, in order

Several URLs are mirrors of one file: the connections are spread over them,
more work goes to the faster ones, and a mirror that fails is dropped.`,
		Flags: []cli.Flag{
			&cli.GenericFlag{Name: "connections", Aliases: []string{"n"}, Value: &connectionsValue{n: netfox.DefaultConnections}, Usage: "parallel connections (1-256), or auto: found by measurement and remembered per host"},
			&cli.IntFlag{Name: "max-connections", Value: netfox.DefaultAutoMax, Usage: "the most connections -n auto uses (1-256)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "output `PATH` (default: the server's name for the file, in the current directory or -d); relative to -d when given; - streams to stdout, in order, within 32 MiB of memory (no resume)"},
			&cli.StringFlag{Name: "dir", Aliases: []string{"d"}, Usage: "save into `DIR` (created when missing), under the server's name or a relative -o"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress output; errors still go to stderr"},
			&cli.BoolFlag{Name: "bars", Usage: "on a terminal, a progress bar per segment instead of the segment map"},
			&cli.BoolFlag{Name: "restart", Usage: "discard PATH.part and PATH.info and start over"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace an existing complete PATH"},
			&cli.BoolFlag{Name: "continue", Aliases: []string{"c"}, Usage: "take over a partial PATH (or PATH.part without PATH.info) from another program, once windows spread over it (512 KiB in all) match the server"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON lines on stdout (events: start, progress, split, retry, notice, done, error, interrupted)"},
			&cli.StringFlag{Name: "input-file", Aliases: []string{"i"}, Usage: "download the URLs listed in `FILE` (URL [OUTPUT] a line; - for stdin)"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: 1, Usage: "files downloaded at once with -i"},
			&cli.IntFlag{Name: "max-connections-per-host", Value: netfox.DefaultMaxConnectionsPerHost, Usage: "connections open at once to one host by all the files of a -i batch together (a single download: by default at least -n)"},
			&cli.StringFlag{Name: "limit-rate", Usage: "cap the whole download at `RATE` per second (e.g. 5MiB, 500K; 0 means no limit)"},
			&cli.StringFlag{Name: "checksum", Usage: "verify the result: `ALGO=HEX` with ALGO sha256, sha512, sha384, sha224, sha1 or md5 (also spelt sha-256 etc., as aria2c)"},
			&cli.StringFlag{Name: "user", Usage: "login `USER:PASSWORD` for FTP and HTTP basic auth (default: the URL's, else ~/.netrc, else anonymous FTP)"},
			&cli.StringFlag{Name: "min-split", Value: "1MiB", Usage: "smallest `SIZE` cut off a running segment for an idle connection"},
			&cli.IntFlag{Name: "max-tries", Value: netfox.DefaultMaxTries, Usage: "attempts per segment without progress before giving up"},
			&cli.DurationFlag{Name: "retry-wait", Value: netfox.DefaultRetryWait, Usage: "longest wait between two tries (backoff starts at 250ms)"},
			&cli.StringFlag{Name: "stall-speed", Value: "1KiB", Usage: "a connection slower than `RATE` per second for --stall-time is cut and retried"},
			&cli.DurationFlag{Name: "stall-time", Value: netfox.DefaultStallWindow, Usage: "window for --stall-speed (0 turns the check off)"},
			&cli.StringSliceFlag{Name: "header", Aliases: []string{"H"}, Usage: "extra request header, 'Name: value' (repeatable)"},
			&cli.StringFlag{Name: "user-agent", Value: userAgent(), Usage: "User-Agent header"},
			&cli.StringFlag{Name: "proxy", Usage: "proxy `URL` for every request (default: HTTP_PROXY, HTTPS_PROXY, NO_PROXY)"},
			&cli.BoolFlag{Name: "insecure", Aliases: []string{"k"}, Usage: "do not verify HTTPS certificates"},
			&cli.StringFlag{Name: "ca-cert", Usage: "trust the CA certificates in `FILE` (PEM) for HTTPS"},
			&cli.StringFlag{Name: "load-cookies", Usage: "send the cookies of a Netscape cookie `FILE`"},
			&cli.BoolFlag{Name: "location-trusted", Usage: "send the credentials (--user, netrc, the URL's, -H Authorization/Cookie) to the target of a redirect to another host, port or scheme too"},
			&cli.BoolFlag{Name: "allow-insecure-redirect", Usage: "follow a redirect from https to http (refused by default, exit 12); no credentials are sent over http"},
			&cli.StringFlag{Name: "netrc-file", Usage: "look up logins in `FILE` (default: $NETRC, else ~/.netrc)"},
		},
		Action: runGet,
	}
}

func runGet(c *cli.Context) error {
	if c.String("input-file") != "" {
		if c.NArg() > 0 {
			return usageError{errors.New("give URLs either on the command line or with -i, not both")}
		}
		return runBatch(c)
	}
	if c.NArg() == 0 {
		return usageError{errors.New("get needs a URL (netfox get [flags] URL)")}
	}
	req, err := requestFromFlags(c)
	if err != nil {
		return err
	}
	req.URL = withScheme(c.Args().First())
	if req.Output, req.Dir, err = placeOutput(c.String("dir"), c.String("output"), "-o"); err != nil {
		return err
	}
	if err := makeDir(c.String("dir"), req); err != nil {
		return err
	}
	for _, m := range c.Args().Tail() {
		req.Mirrors = append(req.Mirrors, withScheme(m))
	}

	stream := req.Output == "-"
	if stream && c.Bool("json") {
		return usageError{errors.New("-o - and --json both want stdout; choose one")}
	}
	if c.Bool("json") {
		return runJSON(c, req)
	}
	progress := watchLive(&req)
	var view *ui.UI
	if !c.Bool("quiet") {
		view = ui.Start(progress, viewOptions(c))
		req.OnEvent = showEvent(view.Notify, view.Retry)
	}
	var res netfox.Result
	if stream {
		// The window is most of the memory: keep the garbage around it
		// small too, whatever the file's size.
		debug.SetMemoryLimit(netfox.DefaultStreamWindow + 16<<20)
		res, err = netfox.Stream(c.Context, req, os.Stdout, 0)
	} else {
		res, err = download(c, req)
	}
	if view != nil {
		view.Stop()
	}
	if err != nil {
		return err
	}
	if !c.Bool("quiet") {
		printSummary(res)
	}
	return nil
}

// alreadyComplete is the line for a file that was already there, the
// remote's same version.
func alreadyComplete(res netfox.Result) string {
	return fmt.Sprintf("already complete: %s (%s, the server's current version)", printable(res.Path), units.FormatSize(res.Size))
}

// requestFromFlags builds the Request the flags describe, without the
// URLs and the output path.
func requestFromFlags(c *cli.Context) (netfox.Request, error) {
	var req netfox.Request
	header, err := parseHeaders(c.StringSlice("header"))
	if err != nil {
		return req, err
	}
	if header.Get("User-Agent") == "" {
		header.Set("User-Agent", c.String("user-agent"))
	}
	if c.Int("max-tries") < 1 {
		return req, usageError{fmt.Errorf("--max-tries must be at least 1, not %d", c.Int("max-tries"))}
	}
	connections := netfox.AutoConnections
	if v := c.Generic("connections").(*connectionsValue); !v.auto {
		connections = v.n
	}
	// --max-connections 0 is the library's "default"; on the command
	// line it is a mistake. The ranges are the library's (checkOptions).
	if c.Int("max-connections") == 0 {
		return req, usageError{errors.New("--max-connections is at least 1")}
	}
	stallSpeed, err := units.ParseSize(c.String("stall-speed"))
	if err != nil {
		return req, usageError{fmt.Errorf("--stall-speed: %w", err)}
	}
	stallTime := c.Duration("stall-time")
	if stallTime == 0 {
		stallTime = -1 // off
	}
	var checksum *netfox.Checksum
	if s := c.String("checksum"); s != "" {
		if checksum, err = netfox.ParseChecksum(s); err != nil {
			return req, err
		}
	}
	var limit int64
	if s := c.String("limit-rate"); s != "" {
		if limit, err = units.ParseSize(s); err != nil || limit < 0 {
			return req, usageError{fmt.Errorf("--limit-rate: invalid rate %q (use e.g. 5MiB, 500K; 0 for no limit)", s)}
		}
	}
	minSplit, err := units.ParseSize(c.String("min-split"))
	if err != nil || minSplit < 1 {
		return req, usageError{fmt.Errorf("--min-split: invalid size %q", c.String("min-split"))}
	}
	transport, err := transportOptions(c)
	if err != nil {
		return req, err
	}
	credentials, err := netrcLookup(c.String("netrc-file"))
	if err != nil {
		return req, err
	}
	user, password, _ := strings.Cut(c.String("user"), ":")
	req = netfox.Request{
		Connections: connections,
		AutoMax:     c.Int("max-connections"),
		CacheDir:    os.Getenv(cacheDirEnv),
		Restart:     c.Bool("restart"),
		Overwrite:   c.Bool("overwrite"),
		Continue:    c.Bool("continue"),
		Header:      header,
		MaxTries:    c.Int("max-tries"),
		RetryWait:   c.Duration("retry-wait"),
		StallSpeed:  stallSpeed,
		StallWindow: stallTime,
		Checksum:    checksum,
		Transport:   transport,
		Credentials: credentials,
		LimitRate:   limit,
		MinSplit:    minSplit,
		User:        user,
		Password:    password,

		LocationTrusted:       c.Bool("location-trusted"),
		AllowInsecureRedirect: c.Bool("allow-insecure-redirect"),
	}
	return req, checkOptions(req)
}

// checkOptions makes the library's checks of req's options
// (Request.Normalized: ranges, conflicts) before any file is started,
// with a stand-in address: each file's own addresses are checked as it
// starts.
func checkOptions(req netfox.Request) error {
	req.URL, req.Mirrors = "http://localhost/", nil
	if _, err := req.Normalized(); err != nil {
		return usageError{err}
	}
	return nil
}

// cacheDirEnv names the environment variable that moves the cache of
// connection counts per host away from DefaultCacheDir.
const cacheDirEnv = "NETFOX_CACHE_DIR"

// connectionsValue is -n: a count, or auto (netfox.AutoConnections). A
// value that is neither is a flag error, reported as the others are
// (flagError); a count out of range is the Request's error.
type connectionsValue struct {
	n    int
	auto bool
}

func (v *connectionsValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "auto") {
		v.auto = true
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		// Not a count: 0 and -1 are the library's "default" and "auto",
		// never what a user means by typing them.
		return fmt.Errorf("a count from 1 to %d, or auto", netfox.MaxConnections)
	}
	v.n, v.auto = n, false
	return nil
}

func (v *connectionsValue) String() string {
	if v.auto {
		return "auto"
	}
	return strconv.Itoa(v.n)
}

// printSummary is the final line of a download: size, time, speed,
// connections, retries, and the share of each mirror.
func printSummary(res netfox.Result) {
	if res.AlreadyComplete {
		fmt.Fprintln(os.Stderr, "netfox: "+alreadyComplete(res))
		return
	}
	secs := res.Elapsed.Seconds()
	extra := ""
	for _, why := range summaryNotes(res) {
		extra += "; " + why
	}
	speed := units.FormatSize(int64(float64(res.Fetched)/max(secs, 1e-3))) + "/s" // on the bytes fetched now
	if res.Resumed > 0 {
		speed = fmt.Sprintf("%s fetched now at %s, %s resumed", units.FormatSize(res.Fetched), speed, units.FormatSize(res.Resumed))
	}
	conns := units.Count(res.Connections, "connection")
	saved := "saved " + printable(res.Path)
	if res.Path == netfox.StreamPath {
		saved = "streamed to stdout"
	}
	fmt.Fprintf(os.Stderr, "netfox: %s (%s) in %s, %s, %s%s\n", saved, units.FormatSize(res.Size),
		res.Elapsed.Round(10*time.Millisecond), speed, conns, extra)
	if len(res.Sources) > 1 {
		for _, s := range res.Sources {
			note := ""
			if s.ParallelReason != "" {
				note = fmt.Sprintf(", -n auto: %d (%s)", s.Parallel, s.ParallelReason)
			}
			if s.Dropped != "" {
				note += " (dropped: " + printable(s.Dropped) + ")"
			}
			fmt.Fprintf(os.Stderr, "netfox:   %5.1f%% %s from %s%s\n", 100*float64(s.Fetched)/float64(max(res.Fetched, 1)), units.FormatSize(s.Fetched), printable(s.URL), note)
		}
	}
}

// viewOptions are the progress view's, on stderr.
func viewOptions(c *cli.Context) ui.Options {
	_, rows := terminalSize(os.Stderr)
	return ui.Options{
		Out:      os.Stderr,
		Terminal: isTerminal(os.Stderr),
		Bars:     c.Bool("bars"),
		MaxBars:  rows - 3,
		Size:     func() (int, int) { return terminalSize(os.Stderr) },
	}
}

// terminalSize is the width and height of the terminal on f, zeros when
// unknown.
func terminalSize(f *os.File) (cols, rows int) {
	cols, rows, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0, 0
	}
	return cols, rows
}

// isTerminal reports whether f is a terminal that the redrawn view can
// draw on: a terminal that takes ANSI escape sequences. On Windows this
// turns them on for the console (enableVT); a console that cannot take
// them gets the plain lines, as a file does.
func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd())) && enableVT(f)
}

// summaryNotes are what happened to the connections of a download, each
// said once and only when it happened: connections replaced and why,
// retries, where -n auto settled.
func summaryNotes(res netfox.Result) []string {
	var notes []string
	if slow := res.Reconnects - res.Silent; slow > 0 {
		notes = append(notes, fmt.Sprintf("%d replaced for running far below the others", slow))
	}
	if res.Silent > 0 {
		notes = append(notes, fmt.Sprintf("%d replaced for going silent", res.Silent))
	}
	if res.Retries > 0 {
		notes = append(notes, units.Count(res.Retries, "retry")+" after errors")
	}
	if res.ParallelSteps != nil {
		notes = append(notes, fmt.Sprintf("-n auto settled at %d (%s)", res.Parallel, res.ParallelReason))
	}
	return notes
}

// download runs one download: over a Client with the per-host budget
// when --max-connections-per-host is given (it then bounds -n too), else
// by netfox.Download, whose budget is at least -n.
func download(c *cli.Context, req netfox.Request) (netfox.Result, error) {
	if !c.IsSet("max-connections-per-host") {
		return netfox.Download(c.Context, req)
	}
	perHost := c.Int("max-connections-per-host")
	if perHost < 1 {
		return netfox.Result{}, usageError{fmt.Errorf("--max-connections-per-host must be at least 1, not %d", perHost)}
	}
	client := netfox.NewClient(netfox.ClientOptions{Transport: req.Transport, MaxConnectionsPerHost: perHost})
	defer client.Close()
	req.Transport = netfox.TransportOptions{}
	return client.Download(c.Context, req)
}
