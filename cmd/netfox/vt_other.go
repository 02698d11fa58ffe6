//go:build !windows

package main

import "os"

// enableVT reports that f takes ANSI escape sequences: every terminal
// outside Windows does.
func enableVT(*os.File) bool { return true }
