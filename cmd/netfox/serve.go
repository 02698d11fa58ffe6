package main

import (
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/netfox/netfox/internal/units"
	"github.com/netfox/netfox/serve"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:         "serve",
		Usage:        "serve a directory over HTTP with ranges, for tests, demos and benchmarks",
		OnUsageError: onUsageError,
		ArgsUsage:    "DIR",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "listen address"},
			&cli.StringFlag{Name: "rate-per-conn", Usage: "cap each connection at `RATE` per second (e.g. 2MiB)"},
			&cli.StringFlag{Name: "rate-total", Usage: "cap all connections together at `RATE` per second, like a link"},
			&cli.DurationFlag{Name: "latency", Usage: "delay before each response's first byte"},
			&cli.IntFlag{Name: "max-conns", Usage: "answer 503 beyond this many concurrent requests"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError{errors.New("serve needs one directory (netfox serve [flags] DIR)")}
			}
			dir := c.Args().First()
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				return usageError{fmt.Errorf("%s is not a directory", dir)}
			}
			rate, err := rateFlag(c, "rate-per-conn")
			if err != nil {
				return err
			}
			total, err := rateFlag(c, "rate-total")
			if err != nil {
				return err
			}
			srv := serve.New(serve.Options{
				Dir:         dir,
				RatePerConn: rate,
				RateTotal:   total,
				Latency:     c.Duration("latency"),
				MaxConns:    c.Int("max-conns"),
				Log:         log.New(os.Stderr, "", log.LstdFlags),
			})
			ln, err := srv.Listen(c.String("addr"))
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "netfox: serving %s at http://%s/\n", dir, ln.Addr())
			return srv.Serve(c.Context, ln)
		},
	}
}

// rateFlag reads a size flag such as --rate-per-conn 2MiB; unset is 0.
func rateFlag(c *cli.Context, name string) (int64, error) {
	s := c.String(name)
	if s == "" {
		return 0, nil
	}
	v, err := units.ParseSize(s)
	if err != nil {
		return 0, usageError{fmt.Errorf("--%s: %w", name, err)}
	}
	return v, nil
}
