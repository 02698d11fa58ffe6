// Package netrc reads ~/.netrc, the file where curl, wget and ftp look up
// a login for a host.
package netrc

import (
	"bufio"
	"bytes"
	"os"
	"strings"
)

// Entry is one machine's login.
type Entry struct {
	Machine  string // "" for the default entry
	Login    string
	Password string
}

// File is a parsed .netrc.
type File struct {
	Entries []Entry
}

// Parse reads .netrc text: whitespace-separated tokens "machine NAME",
// "default", "login NAME", "password WORD", "account WORD", and "macdef
// NAME" followed by a macro that runs to the next empty line.
func Parse(data []byte) File {
	var f File
	var cur *Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var tokens []string
	inMacro := false
	for sc.Scan() {
		line := sc.Text()
		if inMacro {
			if strings.TrimSpace(line) == "" {
				inMacro = false
			}
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		fields := strings.Fields(line)
		for i := 0; i < len(fields); i++ {
			if fields[i] == "macdef" {
				inMacro = true
				tokens = append(tokens, fields[i:min(i+2, len(fields))]...)
				break
			}
			tokens = append(tokens, fields[i])
		}
	}
	next := func(i int) string {
		if i+1 < len(tokens) {
			return tokens[i+1]
		}
		return ""
	}
	for i := 0; i < len(tokens); i++ {
		switch tokens[i] {
		case "machine":
			f.Entries = append(f.Entries, Entry{Machine: next(i)})
			cur = &f.Entries[len(f.Entries)-1]
			i++
		case "default":
			f.Entries = append(f.Entries, Entry{})
			cur = &f.Entries[len(f.Entries)-1]
		case "login", "password", "account", "macdef":
			if cur != nil {
				switch tokens[i] {
				case "login":
					cur.Login = next(i)
				case "password":
					cur.Password = next(i)
				}
			}
			i++
		}
	}
	return f
}

// Load reads the .netrc at path; a missing file is an empty File.
func Load(path string) (File, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return File{}, nil
	}
	if err != nil {
		return File{}, err
	}
	return Parse(data), nil
}

// Lookup returns the login for host: its machine entry, else the default.
func (f File) Lookup(host string) (login, password string, ok bool) {
	var def *Entry
	for i, e := range f.Entries {
		if e.Machine == "" {
			if def == nil {
				def = &f.Entries[i]
			}
			continue
		}
		if strings.EqualFold(e.Machine, host) {
			return e.Login, e.Password, true
		}
	}
	if def != nil {
		return def.Login, def.Password, true
	}
	return "", "", false
}
