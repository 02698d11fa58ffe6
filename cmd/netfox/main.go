// Command netfox is a segmented, resumable downloader. See the README for
// the commands, their flags and the exit codes.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	app := newApp()
	err := checkCommand(app, os.Args)
	if err == nil {
		err = app.RunContext(ctx, os.Args)
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "netfox: "+message(err))
		os.Exit(exitCode(err))
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:                 "netfox",
		Usage:                "a segmented, resumable downloader",
		EnableBashCompletion: true,
		HideHelpCommand:      false,
		Commands:             []*cli.Command{getCommand(), serveCommand(), benchCommand()},
		Flags: []cli.Flag{
			// For the benchmarks' profiles (bench/RESULTS.md); not for users.
			&cli.StringFlag{Name: "cpuprofile", Hidden: true},
		},
		Before: func(c *cli.Context) error {
			path := c.String("cpuprofile")
			if path == "" {
				return nil
			}
			f, err := os.Create(path)
			if err != nil {
				return err
			}
			return pprof.StartCPUProfile(f)
		},
		After: func(c *cli.Context) error {
			if c.String("cpuprofile") != "" {
				pprof.StopCPUProfile()
			}
			return nil
		},
		// Errors are printed once, by main, as one line.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError,
	}
}

// onUsageError marks flag parsing errors, so that they get the usage exit
// code.
func onUsageError(_ *cli.Context, err error, _ bool) error {
	return usageError{err}
}

// checkCommand reports an unknown command as a usage error; urfave/cli
// would answer it as a missing help topic.
func checkCommand(app *cli.App, args []string) error {
	if len(args) < 2 || strings.HasPrefix(args[1], "-") {
		return nil
	}
	for _, c := range app.Commands {
		if c.HasName(args[1]) {
			return nil
		}
	}
	if args[1] == "help" || args[1] == "h" {
		return nil
	}
	return usageError{fmt.Errorf("unknown command %q (commands: get, serve, bench; see netfox help)", args[1])}
}
