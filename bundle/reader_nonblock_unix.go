//go:build unix

package bundle

import "syscall"

// openNonBlock keeps a directory bundle's file that became a FIFO between the
// walk and the open from blocking the reader; for a regular file it has no
// effect (open(2)).
const openNonBlock = syscall.O_NONBLOCK
