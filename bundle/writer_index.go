package bundle

import (
	"bufio"
	"bytes"
	"encoding/json"
	"hash/maphash"
	"io"
	"os"
)

// The manifest lists every file with its sha256, and the list is written
// last (DESIGN §2). Held as []FileEntry it grows with the node — ~300 bytes
// a file, 28 MB on a 1,000-pod node of 93,000 files, and the name set for
// duplicate detection as much again — which alone broke the collector's
// 30 MB peak RSS budget (DESIGN §5; docs/performance.md). So entries are
// encoded as they are committed into an index that spills to an unlinked
// file like any spool, and names are remembered by a 128-bit hash.

// indexMemory is how much of the encoded index stays in memory.
const indexMemory = 256 << 10

type fileIndex struct {
	dir   string // spill directory ("" = os.TempDir())
	mem   bytes.Buffer
	file  *os.File
	bw    *bufio.Writer
	count int

	seed [2]maphash.Seed
	seen map[[2]uint64]struct{}
}

func newFileIndex(dir string) *fileIndex {
	return &fileIndex{dir: dir, seed: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, seen: map[[2]uint64]struct{}{}}
}

func (x *fileIndex) key(name string) [2]uint64 {
	return [2]uint64{maphash.String(x.seed[0], name), maphash.String(x.seed[1], name)}
}

// has reports whether name was added. Two independent 64-bit hashes make a
// false "already in the bundle" about 1 in 10^28 for 100,000 names.
func (x *fileIndex) has(name string) bool {
	_, ok := x.seen[x.key(name)]
	return ok
}

// add appends fe as one JSON line.
func (x *fileIndex) add(fe FileEntry) error {
	e, err := json.Marshal(fe)
	if err != nil {
		return err
	}
	e = append(e, '\n')
	if x.file == nil && x.mem.Len()+len(e) > indexMemory {
		f, err := os.CreateTemp(x.dir, ".memsnap-index-*")
		if err != nil {
			return err
		}
		os.Remove(f.Name()) // unlinked: nothing left behind if we are killed
		x.file, x.bw = f, bufio.NewWriterSize(f, 32<<10)
	}
	if x.file != nil {
		_, err = x.bw.Write(e)
	} else {
		x.mem.Write(e)
	}
	if err != nil {
		return err
	}
	x.seen[x.key(fe.Path)] = struct{}{}
	x.count++
	return nil
}

// each calls fn with every encoded entry (without its newline) in order.
func (x *fileIndex) each(fn func(entry []byte) error) error {
	var r io.Reader = bytes.NewReader(x.mem.Bytes())
	if x.file != nil {
		if err := x.bw.Flush(); err != nil {
			return err
		}
		if _, err := x.file.Seek(0, io.SeekStart); err != nil {
			return err
		}
		r = io.MultiReader(r, x.file)
	}
	br := bufio.NewReaderSize(r, 32<<10)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if e := fn(bytes.TrimSuffix(line, []byte("\n"))); e != nil {
				return e
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil { // bufio.ErrBufferFull cannot happen: entries are < 32 KiB (paths are capped)
			return err
		}
	}
}

// entries decodes the index (Writer.Files, for tests and small bundles).
func (x *fileIndex) entries() ([]FileEntry, error) {
	var out []FileEntry
	err := x.each(func(e []byte) error {
		var fe FileEntry
		if err := json.Unmarshal(e, &fe); err != nil {
			return err
		}
		out = append(out, fe)
		return nil
	})
	return out, err
}

func (x *fileIndex) close() {
	if x.file != nil {
		x.file.Close()
		x.file = nil
	}
}
