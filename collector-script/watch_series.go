package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/memsnap/memsnap/bundle"
)

// seriesFile is one series/<kind>.tsv.gz being written: a gzip stream into
// an unlinked spool file, so the samples of a long watch cost disk, not
// memory, and vanish with the process if it dies.
type seriesFile struct {
	name string
	f    *os.File
	cw   countingWriter
	gz   *gzip.Writer
	bw   *bufio.Writer
	rows int
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func newSeriesFile(dir, name string, header []string) (*seriesFile, error) {
	f, err := os.CreateTemp(dir, ".memsnap-series-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // unlinked: nothing is left behind, whatever happens
	sf := &seriesFile{name: name, f: f}
	sf.cw.w = f
	// Level 6 compresses the repeated cgroup paths and slowly moving
	// numbers about 10:1 (docs/series.md has the measured figure).
	sf.gz, _ = gzip.NewWriterLevel(&sf.cw, gzip.DefaultCompression)
	sf.bw = bufio.NewWriterSize(sf.gz, 32<<10)
	sf.bw.WriteString(strings.Join(header, "\t"))
	sf.bw.WriteByte('\n')
	return sf, nil
}

// bytes is what the file holds so far, compressed (gzip's own buffer of
// a few hundred KiB at most is not counted; watchReserve covers it).
func (sf *seriesFile) bytes() int64 { return sf.cw.n }

// row writes one line; cells are written as given, a path cell is quoted
// when it holds a tab, newline, backslash or invalid UTF-8 (DESIGN §2).
func (sf *seriesFile) row(cells ...[]byte) {
	for i, c := range cells {
		if i > 0 {
			sf.bw.WriteByte('\t')
		}
		sf.bw.Write(c)
	}
	sf.bw.WriteByte('\n')
	sf.rows++
}

// finish flushes the gzip stream and rewinds the spool for reading.
func (sf *seriesFile) finish() error {
	if err := sf.bw.Flush(); err != nil {
		return err
	}
	if err := sf.gz.Close(); err != nil {
		return err
	}
	_, err := sf.f.Seek(0, io.SeekStart)
	return err
}

// commit adds the file to the bundle, whole or not at all: a gzip stream
// cut by --max-bytes would still be readable up to the cut, but the
// sampler already stopped in time for it to fit.
func (sf *seriesFile) commit(w *bundle.Writer) (bundle.FileEntry, error) {
	defer sf.f.Close()
	if err := sf.finish(); err != nil {
		return bundle.FileEntry{}, fmt.Errorf("%s: %w", sf.name, err)
	}
	sp, err := w.Spool(sf.f, -1)
	if err != nil {
		return bundle.FileEntry{}, fmt.Errorf("%s: %w", sf.name, err)
	}
	return w.Commit(sf.name, sp)
}

func (sf *seriesFile) discard() { sf.f.Close() }

// tsvPath quotes a path cell the way every memsnap TSV does (tsvField).
func tsvPath(p string) []byte { return []byte(tsvField(p)) }
