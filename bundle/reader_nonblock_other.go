//go:build !unix

package bundle

// openNonBlock: FIFOs are a unix matter; elsewhere the type check after the
// open is enough.
const openNonBlock = 0
