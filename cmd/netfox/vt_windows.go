//go:build windows

package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// enableVT turns on the processing of ANSI escape sequences (virtual
// terminal processing) for the console f writes to, and reports whether it
// is on. Windows 10 and later consoles have it, off by default; without
// it the view's cursor moves and colours would show as text.
func enableVT(f *os.File) bool {
	h := windows.Handle(f.Fd())
	var mode uint32
	if err := windows.GetConsoleMode(h, &mode); err != nil {
		return false
	}
	want := mode | windows.ENABLE_PROCESSED_OUTPUT | windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING
	return want == mode || windows.SetConsoleMode(h, want) == nil
}
