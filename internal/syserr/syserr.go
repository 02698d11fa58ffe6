// Package syserr tells what a system error means, on every system: a
// connection reset, too many open files, no buffer space. Go's syscall
// names these after Unix's errno values; on Windows the sockets report
// WinSock's own codes (WSAECONNRESET and so on), which syscall.ECONNRESET
// and its kind never match there, so a rule written with them alone
// silently never fires on Windows. One file per system holds the codes.
package syserr
