package bundle

import (
	"errors"
	"io"
	"os"
)

// Reader limits (DESIGN §2), sized for a 1,000-pod node: the reference bundle
// holds ~20,000 files and ~100 MB, so these leave two orders of magnitude of
// headroom while still stopping a gzip bomb long before it fills memory or disk.
const (
	DefaultMaxFileBytes  int64 = 512 << 20
	DefaultMaxTotalBytes int64 = 4 << 30
	DefaultMaxEntries          = 250_000

	// Files up to DefaultMemFileBytes stay in memory as long as all of them
	// together stay under DefaultMemTotalBytes; everything else spills to the
	// private temp area. cAdvisor's 40 MB metrics file spills, the ~20,000 small
	// cgroup files of a large node (~10 MB together) do not. 64 MiB keeps the
	// analyzer inside its 200 MB peak-RSS budget (DESIGN §5).
	DefaultMemFileBytes  int64 = 4 << 20
	DefaultMemTotalBytes int64 = 64 << 20
)

// Options configures Open. The zero value of every limit means its default,
// so Options{Stdin: r} is a valid configuration.
type Options struct {
	// MaxFileBytes caps one file: a larger one is cut at this size and a
	// Problem names it.
	MaxFileBytes int64
	// MaxTotalBytes caps the entry content read from an archive, stored or
	// skipped alike (a skipped entry in a compressed tar still costs its
	// decompression), so a gzip bomb stops here. What lies beyond is skipped
	// with a Problem. For a directory it caps the sum of the file sizes.
	MaxTotalBytes int64
	// MaxEntries caps the number of entries (files, directories, refused
	// entries) looked at; the rest of the archive is skipped with a Problem.
	MaxEntries int
	// MemFileBytes and MemTotalBytes decide what is kept in memory; the rest
	// is written to the private temp area.
	MemFileBytes  int64
	MemTotalBytes int64
	// TempDir is where the private temp area is created (os.MkdirTemp);
	// empty means os.TempDir(). The area exists only once something spills
	// and is removed by Close.
	TempDir string
	// Stdin is read when the path given to Open is "-".
	Stdin io.Reader
}

// DefaultOptions returns the DESIGN §2 limits.
func DefaultOptions() Options {
	return Options{
		MaxFileBytes:  DefaultMaxFileBytes,
		MaxTotalBytes: DefaultMaxTotalBytes,
		MaxEntries:    DefaultMaxEntries,
		MemFileBytes:  DefaultMemFileBytes,
		MemTotalBytes: DefaultMemTotalBytes,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = d.MaxFileBytes
	}
	if o.MaxTotalBytes <= 0 {
		o.MaxTotalBytes = d.MaxTotalBytes
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = d.MaxEntries
	}
	if o.MemFileBytes <= 0 {
		o.MemFileBytes = d.MemFileBytes
	}
	if o.MemTotalBytes <= 0 {
		o.MemTotalBytes = d.MemTotalBytes
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	return o
}

// errTotalLimit ends the pass once MaxTotalBytes of entry content were read.
var errTotalLimit = errors.New("total size limit reached")

// budgetReader charges every byte read from an archive entry to the bundle's
// total budget, whether the byte is kept or skipped.
type budgetReader struct {
	r    io.Reader
	used *int64
	max  int64
}

func (br *budgetReader) Read(p []byte) (int, error) {
	left := br.max - *br.used
	if left <= 0 {
		// An entry that ends exactly at the limit is not over it.
		var one [1]byte
		if n, err := br.r.Read(one[:]); n == 0 && err == io.EOF {
			return 0, io.EOF
		}
		return 0, errTotalLimit
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := br.r.Read(p)
	*br.used += int64(n)
	return n, err
}
