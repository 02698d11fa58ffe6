package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// completionCommand prints a shell completion script, written from the
// commands and flags of app, so that it never falls behind them.
func completionCommand() *cli.Command {
	return &cli.Command{
		Name:         "completion",
		Usage:        "print a shell completion script (bash, zsh or fish)",
		ArgsUsage:    "bash|zsh|fish",
		OnUsageError: onUsageError,
		Description: `Prints a script that completes netfox's commands and flags. Install it with:

   bash:  netfox completion bash > ~/.local/share/bash-completion/completions/netfox
   zsh:   netfox completion zsh > "${fpath[1]}/_netfox"
   fish:  netfox completion fish > ~/.config/fish/completions/netfox.fish

or for the current shell only: source <(netfox completion bash).`,
		Action: func(c *cli.Context) error {
			shell := c.Args().First()
			if c.NArg() != 1 {
				return usageError{fmt.Errorf("completion needs one shell: bash, zsh or fish (netfox completion bash)")}
			}
			write, ok := map[string]func(io.Writer, []*cli.Command){"bash": bashCompletion, "zsh": zshCompletion, "fish": fishCompletion}[shell]
			if !ok {
				return usageError{fmt.Errorf("completion: unknown shell %q (bash, zsh or fish)", shell)}
			}
			write(c.App.Writer, c.App.Commands)
			return nil
		},
	}
}

// flagNames are the dashed names of a command's visible flags, sorted.
func flagNames(cmd *cli.Command) []string {
	var names []string
	for _, f := range visibleFlags(cmd) {
		for _, n := range f.Names() {
			names = append(names, dashed(n))
		}
	}
	sort.Strings(names)
	return append(names, "--help")
}

func visibleFlags(cmd *cli.Command) []cli.Flag {
	var flags []cli.Flag
	for _, f := range cmd.Flags {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		flags = append(flags, f)
	}
	return flags
}

func bashCompletion(w io.Writer, cmds []*cli.Command) {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Name)
		}
	}
	fmt.Fprintf(w, `# bash completion for netfox (netfox completion bash)
_netfox() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    if [[ $COMP_CWORD -eq 1 ]]; then
        COMPREPLY=($(compgen -W "%s help --help --version" -- "$cur"))
        return
    fi
    case $prev in
        -o|--output|-i|--input-file|--ca-cert|--load-cookies|--netrc-file|--plot)
            COMPREPLY=($(compgen -f -- "$cur")); return ;;
        -d|--dir)
            COMPREPLY=($(compgen -d -- "$cur")); return ;;
    esac
    local flags
    case ${COMP_WORDS[1]} in
`, strings.Join(names, " "))
	for _, c := range cmds {
		if c.Hidden {
			continue
		}
		if c.Name == "completion" {
			fmt.Fprintf(w, "        completion) COMPREPLY=($(compgen -W \"bash zsh fish\" -- \"$cur\")); return ;;\n")
			continue
		}
		fmt.Fprintf(w, "        %s) flags=%q ;;\n", c.Name, strings.Join(flagNames(c), " "))
	}
	fmt.Fprint(w, `    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    fi
}
complete -o default -F _netfox netfox
`)
}

func zshCompletion(w io.Writer, cmds []*cli.Command) {
	fmt.Fprint(w, `#compdef netfox
# zsh completion for netfox (netfox completion zsh)
_netfox() {
    local -a commands
    commands=(
`)
	for _, c := range cmds {
		if !c.Hidden {
			fmt.Fprintf(w, "        %s\n", zshQuote(c.Name+":"+c.Usage))
		}
	}
	fmt.Fprint(w, `    )
    if (( CURRENT == 2 )); then
        _describe 'command' commands
        return
    fi
    case $words[2] in
`)
	for _, c := range cmds {
		if c.Hidden {
			continue
		}
		if c.Name == "completion" {
			fmt.Fprint(w, "        completion) _values 'shell' bash zsh fish ;;\n")
			continue
		}
		fmt.Fprintf(w, "        %s) _arguments -s \\\n", c.Name)
		for _, f := range visibleFlags(c) {
			usage := flagUsage(f)
			value := ""
			if v, ok := f.(cli.DocGenerationFlag); ok && v.TakesValue() {
				value = ":value:_files"
			}
			for _, n := range f.Names() {
				fmt.Fprintf(w, "            %s \\\n", zshQuote(dashed(n)+"["+zshEscape(usage)+"]"+value))
			}
		}
		fmt.Fprint(w, "            '*:URL:_urls' ;;\n")
	}
	fmt.Fprint(w, `    esac
}
_netfox "$@"
`)
}

func fishCompletion(w io.Writer, cmds []*cli.Command) {
	fmt.Fprintln(w, "# fish completion for netfox (netfox completion fish)")
	fmt.Fprintln(w, "complete -c netfox -f")
	for _, c := range cmds {
		if c.Hidden {
			continue
		}
		fmt.Fprintf(w, "complete -c netfox -n __fish_use_subcommand -a %s -d %s\n", c.Name, fishQuote(c.Usage))
		if c.Name == "completion" {
			fmt.Fprintln(w, "complete -c netfox -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'")
			continue
		}
		for _, f := range visibleFlags(c) {
			line := fmt.Sprintf("complete -c netfox -n '__fish_seen_subcommand_from %s'", c.Name)
			for _, n := range f.Names() {
				if len(n) == 1 {
					line += " -s " + n
				} else {
					line += " -l " + n
				}
			}
			if v, ok := f.(cli.DocGenerationFlag); ok && v.TakesValue() {
				line += " -r -F"
			}
			fmt.Fprintln(w, line+" -d "+fishQuote(flagUsage(f)))
		}
	}
}

func flagUsage(f cli.Flag) string {
	if d, ok := f.(cli.DocGenerationFlag); ok {
		// The backquoted placeholders of urfave/cli usage strings.
		return strings.ReplaceAll(d.GetUsage(), "`", "")
	}
	return ""
}

func zshQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// zshEscape protects the brackets and colons _arguments gives meaning to.
func zshEscape(s string) string {
	return strings.NewReplacer("[", `\[`, "]", `\]`, ":", `\:`).Replace(s)
}

func fishQuote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
