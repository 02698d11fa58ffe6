package main

import (
	"errors"
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

// This file holds what makes the command line forgiving: flags after the
// URL, a URL without a scheme, suggestions for typos, flag errors that
// name the flag as it was typed, and the version from the build.

// reorderArgs moves the flags of a command before its positional
// arguments, so that `netfox get URL -o f` means what
// `netfox get -o f URL` does (urfave/cli stops parsing flags at the first
// positional argument). A flag's value stays with it; everything after
// "--" stays positional.
func reorderArgs(app *cli.App, args []string) []string {
	at := commandIndex(app, args)
	if at < 0 {
		return args
	}
	cmd := app.Command(args[at])
	var flags, positional []string
	dashdash := false
	rest := args[at+1:]
	for i := 0; i < len(rest); i++ {
		arg := rest[i]
		switch {
		case arg == "--":
			dashdash = true
			positional = append(positional, rest[i+1:]...)
			i = len(rest)
		case len(arg) > 1 && arg[0] == '-':
			flags = append(flags, arg)
			if !strings.Contains(arg, "=") && takesValue(cmd, strings.TrimLeft(arg, "-")) && i+1 < len(rest) {
				i++
				flags = append(flags, rest[i])
			}
		default:
			positional = append(positional, arg)
		}
	}
	out := append([]string{}, args[:at+1]...)
	out = append(out, flags...)
	if dashdash {
		out = append(out, "--")
	}
	return append(out, positional...)
}

// commandIndex is the index in args of the command's name, -1 when there
// is none.
func commandIndex(app *cli.App, args []string) int {
	for i := 1; i < len(args); i++ {
		switch arg := args[i]; {
		case arg == "--cpuprofile":
			i++ // its value
		case strings.HasPrefix(arg, "-"):
		case app.Command(arg) != nil:
			return i
		default:
			return -1
		}
	}
	return -1
}

// takesValue reports whether name is a flag of cmd that takes a value.
func takesValue(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				v, ok := f.(cli.DocGenerationFlag)
				return ok && v.TakesValue()
			}
		}
	}
	return false
}

// withScheme returns rawURL with http:// in front when it names no
// scheme, as curl does: `netfox get example.com/f.iso`.
func withScheme(rawURL string) string {
	if strings.Contains(rawURL, "://") {
		return rawURL
	}
	return "http://" + rawURL
}

// version is netfox's version, set at build time by the Makefile
// (-ldflags "-X main.version=..."); empty in a plain go build or go
// install, where buildVersion finds one in the build information.
var version string

// buildVersion is netfox's one version string, of --version and of the
// User-Agent: the one set at build time; else the module's version (go
// install netfox@v1.2.3); else the VCS revision the binary was built
// from (go build in a checkout), "-modified" when the tree had changes;
// else "devel".
func buildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return versionOf(bi)
}

// versionOf is buildVersion's choice among the facts of bi.
func versionOf(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "-modified"
			}
		}
	}
	if rev != "" {
		return fmt.Sprintf("%.12s%s", rev, modified)
	}
	return "devel"
}

// userAgent is the default User-Agent: netfox and its version.
func userAgent() string { return "netfox/" + buildVersion() }

// suggest returns the candidate closest to typed, if it is close enough
// to be a typo of it.
func suggest(typed string, candidates []string) (string, bool) {
	best, bestDist := "", 3 // at most two edits
	for _, c := range candidates {
		if d := editDistance(typed, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best, best != ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// commandNames are the names a user may type as a command.
func commandNames(app *cli.App) []string {
	var names []string
	for _, c := range app.Commands {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	return names
}

var (
	undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -(.+)$`)
	invalidValue  = regexp.MustCompile(`^invalid value "(.*)" for flag -([^:]+): (.*)$`)
)

// flagError rewrites a flag parsing error of urfave/cli (Go's flag
// package writes every flag with one dash) to name the flag as typed in
// args, suggest a close one, and point to the help.
func flagError(cmd *cli.Command, args []string, err error) error {
	help := "netfox --help"
	var flags []cli.Flag
	if cmd != nil && cmd.Name != "" {
		help = "netfox " + cmd.Name + " --help"
		flags = cmd.Flags
	}
	msg := err.Error()
	if m := undefinedFlag.FindStringSubmatch(msg); m != nil {
		var names []string
		for _, f := range flags {
			names = append(names, f.Names()...)
		}
		hint := ""
		if s, ok := suggest(m[1], names); ok {
			hint = "did you mean " + dashed(s) + "? "
		}
		return usageError{fmt.Errorf("unknown flag %s (%ssee '%s')", typedFlag(args, m[1]), hint, help)}
	}
	if m := invalidValue.FindStringSubmatch(msg); m != nil {
		return usageError{fmt.Errorf("%s: invalid value %q (see '%s')", typedFlag(args, m[2]), m[1], help)}
	}
	return usageError{fmt.Errorf("%w (see '%s')", err, help)}
}

// typedFlag is the flag name as the user typed it in args (-x or --x).
func typedFlag(args []string, name string) string {
	for _, a := range args {
		flag, _, _ := strings.Cut(a, "=")
		if strings.HasPrefix(flag, "-") && strings.TrimLeft(flag, "-") == name {
			return flag
		}
	}
	return dashed(name)
}

// dashed writes a flag name the way the help does: -n, --connections.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// unknownCommand is the error for a command that does not exist.
func unknownCommand(app *cli.App, typed string) error {
	hint := ""
	if s, ok := suggest(typed, commandNames(app)); ok {
		hint = fmt.Sprintf("did you mean %q? ", s)
	}
	return usageError{errors.New("unknown command " + fmt.Sprintf("%q", typed) + " (" + hint + "commands: " +
		strings.Join(visibleCommands(app), ", ") + "; see 'netfox --help')")}
}

func visibleCommands(app *cli.App) []string {
	var names []string
	for _, c := range app.Commands {
		if !c.Hidden {
			names = append(names, c.Name)
		}
	}
	return names
}
