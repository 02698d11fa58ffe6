package fileaccess

import "golang.org/x/sys/unix"

// noAttr is the error of getxattr for an attribute the file does not have.
const noAttr = unix.ENODATA
