package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// damageError is a failure reading an entry's content from the archive (a
// damaged or truncated stream), as opposed to a failure of our own storage.
type damageError struct{ cause error }

func (e *damageError) Error() string { return e.cause.Error() }

// store copies one entry's content (at most MaxFileBytes of it) into memory or
// the private temp area. hint is the size the archive header claims; it only
// chooses where to put the bytes, it is never trusted for allocation beyond
// MemFileBytes. The returned entry is non-nil whenever some content was kept,
// also when err reports damage or the total limit.
func (b *Bundle) store(name string, r io.Reader, hint int64) (*entry, error) {
	max := b.opts.MaxFileBytes
	var buf bytes.Buffer
	inMemory := hint <= b.opts.MemFileBytes && b.memBytes+hint <= b.opts.MemTotalBytes
	if inMemory {
		limit := min(b.opts.MemFileBytes, b.opts.MemTotalBytes-b.memBytes, max)
		if hint >= 0 && hint <= limit {
			// The common case: the header is right. Reading into a slice of
			// exactly hint bytes keeps no slack per entry; bytes.Buffer
			// wants MinRead bytes free for its final read and doubled most
			// entries (13 % of analyze's CPU at 250 pods and ~50 MB of
			// slack at 1,000, docs/performance.md).
			data := make([]byte, hint)
			n, err := io.ReadFull(r, data)
			if err != nil { // shorter than its header says: EOF is damage here
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				b.memBytes += int64(n)
				return &entry{size: int64(n), data: data[:n], cut: true}, readErr(err)
			}
			var one [1]byte
			m, err := io.ReadFull(r, one[:])
			if m == 0 && err == io.EOF {
				b.memBytes += hint
				return &entry{size: hint, data: data}, nil
			}
			if m == 0 {
				b.memBytes += hint
				return &entry{size: hint, data: data, cut: true}, readErr(err)
			}
			// The header understated the size: go on as for an unknown one.
			buf.Write(data)
			buf.Write(one[:m])
			r = io.MultiReader(bytes.NewReader(buf.Bytes()), r)
			buf = bytes.Buffer{}
		}
		buf.Grow(int(max64(hint, 0)) + bytes.MinRead)
		n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
		switch {
		case err != nil:
			b.memBytes += n
			return &entry{size: n, data: buf.Bytes(), cut: true}, readErr(err)
		case n <= limit:
			b.memBytes += n
			return &entry{size: n, data: buf.Bytes()}, nil
		case limit == max:
			buf.Truncate(int(max))
			b.memBytes += max
			return &entry{size: max, data: buf.Bytes(), cut: true}, nil
		}
		// The header lied about the size, or the memory budget ran out: the
		// bytes read so far go first into the spill file.
	}
	f, spill, err := b.createSpill()
	if err != nil {
		return nil, fmt.Errorf("cannot store it in the temp area: %w", err)
	}
	defer f.Close()
	written, err := io.Copy(f, io.MultiReader(&buf, io.LimitReader(r, max-int64(buf.Len()))))
	e := &entry{size: written, spill: spill}
	if err != nil {
		e.cut = true
		if errors.Is(err, errWrite) {
			return e, fmt.Errorf("cannot store it in the temp area: %w", err)
		}
		return e, readErr(err)
	}
	if written == max {
		// Exactly at the limit is fine; one byte more is a cut file.
		var one [1]byte
		n, err := r.Read(one[:])
		if n > 0 || (err != nil && err != io.EOF) {
			e.cut = true
		}
	}
	return e, nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// readErr keeps errTotalLimit recognisable and marks everything else as
// damage to the archive stream.
func readErr(err error) error {
	if errors.Is(err, errTotalLimit) {
		return err
	}
	return &damageError{cause: err}
}

// errWrite distinguishes a failing temp area (disk full) from a failing input.
var errWrite = errors.New("writing the temp area")

type spillWriter struct{ f *os.File }

func (w spillWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = fmt.Errorf("%w: %w", errWrite, err)
	}
	return n, err
}

func (w spillWriter) Close() error { return w.f.Close() }

// createSpill creates the next file of the private temp area. Spill files are
// named by a counter, never by the entry's name, and are written only through
// an os.Root, so no name from a bundle ever reaches the host file system.
func (b *Bundle) createSpill() (spillWriter, string, error) {
	if b.tmp == nil {
		dir, err := os.MkdirTemp(b.opts.TempDir, "memsnap-bundle-")
		if err != nil {
			return spillWriter{}, "", err
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			os.RemoveAll(dir)
			return spillWriter{}, "", err
		}
		b.tmpPath, b.tmp = dir, root
	}
	b.spillSeq++
	name := fmt.Sprintf("%07d", b.spillSeq)
	f, err := b.tmp.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return spillWriter{}, "", err
	}
	return spillWriter{f}, name, nil
}

// release drops an entry's spill file (the outer copy of a nested archive).
func (b *Bundle) release(e *entry) {
	if e.spill != "" && b.tmp != nil {
		b.tmp.Remove(e.spill)
	}
	b.memBytes -= int64(len(e.data))
}

// openRaw returns a file's stored content without any check.
func (b *Bundle) openRaw(path string) (io.ReadCloser, *entry, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrClosed}
	}
	e, ok := b.files[path]
	if !ok {
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	rc, err := b.openEntry(e)
	if err != nil {
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return rc, e, nil
}

func (b *Bundle) openEntry(e *entry) (io.ReadCloser, error) {
	switch {
	case e.spill != "":
		f, err := b.tmp.Open(e.spill)
		if err != nil {
			return nil, err
		}
		return f, nil
	case e.dirPath != "":
		return b.openDirFile(e)
	default:
		return io.NopCloser(bytes.NewReader(e.data)), nil
	}
}

// readerAt returns the entry's content with random access, as zip needs.
func (b *Bundle) readerAt(e *entry) (io.Reader, io.Closer, error) {
	switch {
	case e.spill != "":
		f, err := b.tmp.Open(e.spill)
		return f, f, err
	case e.dirPath != "":
		f, err := b.openDirFileRaw(e)
		return f, f, err
	default:
		return bytes.NewReader(e.data), io.NopCloser(nil), nil
	}
}
