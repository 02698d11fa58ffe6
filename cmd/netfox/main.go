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
	// The help and version flags are urfave/cli's own; only their help
	// line changes.
	cli.HelpFlag = &cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show help", DisableDefaultText: true}
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version", DisableDefaultText: true}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	app := newApp()
	err := checkCommand(app, os.Args)
	if err == nil {
		err = app.RunContext(ctx, reorderArgs(app, os.Args))
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "netfox: "+message(err))
		os.Exit(exitCode(err))
	}
}

func newApp() *cli.App {
	app := &cli.App{
		Name:            "netfox",
		Usage:           "a segmented, resumable downloader",
		Version:         buildVersion(),
		HideHelpCommand: false,
		Commands:        []*cli.Command{getCommand(), serveCommand(), benchCommand(), daemonCommand(), completionCommand()},
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
	quietBooleans(app)
	return app
}

// quietBooleans drops the "(default: false)" urfave/cli prints after
// every boolean flag in the help.
func quietBooleans(app *cli.App) {
	for _, cmd := range app.Commands {
		for _, f := range cmd.Flags {
			if b, ok := f.(*cli.BoolFlag); ok {
				b.DisableDefaultText = true
			}
		}
	}
}

// onUsageError marks flag parsing errors, so that they get the usage exit
// code, and names the flag as the user typed it.
func onUsageError(c *cli.Context, err error, _ bool) error {
	return flagError(c.Command, os.Args, err)
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
	return unknownCommand(app, args[1])
}
