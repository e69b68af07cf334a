package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/mholt/archives"
)

// inputKind is what the reader does with an identified input.
type inputKind int

const (
	inputUnsupported inputKind = iota
	inputTar                   // streamed in one pass
	inputZip                   // needs random access
	inputCompressed            // compression around something else: one wrapper level
)

// zstdOptions bound a hostile frame: klauspost/compress accepts windows up to
// 512 MiB by default (zstd/framedec.go MaxWindowSize), and its default decoder
// starts one goroutine per core. The collector never writes zstd, so customer
// re-compressions with the zstd CLI's default 8 MiB window are what we meet.
var zstdOptions = []zstd.DOption{
	zstd.WithDecoderConcurrency(1),
	zstd.WithDecoderLowmem(true),
	zstd.WithDecoderMaxWindow(64 << 20),
}

// identify sniffs in by its magic bytes (never its name) with
// mholt/archives.Identify and returns the kind, the decompressor to apply
// first (nil for none) and the stream to read from its start.
func identify(ctx context.Context, in io.Reader) (inputKind, archives.Decompressor, io.Reader, error) {
	format, stream, err := archives.Identify(ctx, "", in)
	if stream == nil {
		stream = in
	}
	kind, dec := classify(format)
	if err == nil && kind != inputUnsupported {
		return kind, dec, stream, nil
	}
	// Identify tries compressions before archives, and zlib's 2-byte magic
	// also matches plain text such as a tar whose first name starts with "x^"
	// or "hC"; a tar header checksum is the stronger evidence.
	br := bufio.NewReaderSize(stream, 64<<10)
	if looksLikeTar(br) {
		return inputTar, nil, br, nil
	}
	if _, perr := br.Peek(1); perr == io.EOF {
		return 0, nil, nil, errors.New("empty input: not a bundle")
	}
	switch {
	case err != nil && !errors.Is(err, archives.NoMatch):
		return 0, nil, nil, fmt.Errorf("cannot identify the format: %w", err)
	case format != nil:
		return 0, nil, nil, fmt.Errorf("unsupported format %s: %s", format.Extension(), acceptedFormats)
	default:
		// Not an archive: a loose file (a kernel log, a pod list, …) that
		// readArchive keeps as the input's only file.
		return 0, nil, br, errNotArchive
	}
}

// errNotArchive marks an input that is no archive at all: it is read as one
// loose file (loose.go).
var errNotArchive = fmt.Errorf("not an archive nor a directory: %s", acceptedFormats)

const acceptedFormats = "a bundle is a .tar.gz/.tgz, .tar, .tar.xz, .tar.zst or .zip archive, or a directory"

func classify(format archives.Format) (inputKind, archives.Decompressor) {
	switch f := format.(type) {
	case archives.Tar:
		return inputTar, nil
	case archives.Zip:
		return inputZip, nil
	case archives.CompressedArchive:
		dec := decompressor(f.Compression)
		if dec == nil {
			return inputUnsupported, nil
		}
		switch f.Extraction.(type) {
		case archives.Tar:
			return inputTar, dec
		case archives.Zip:
			// Nobody compresses a zip on purpose: a customer did it to a
			// bundle, which makes it a wrapper level like a gzip'd tar.gz.
			return inputCompressed, dec
		}
	case archives.Compression:
		if dec := decompressor(f); dec != nil {
			return inputCompressed, dec
		}
	}
	return inputUnsupported, nil
}

func decompressor(c archives.Compression) archives.Decompressor {
	switch c.(type) {
	case archives.Gz:
		return fastGzip{}
	case archives.Xz:
		return archives.Xz{}
	case archives.Zstd:
		return archives.Zstd{DecoderOptions: zstdOptions}
	}
	return nil
}

// fastGzip decompresses with klauspost/compress/gzip, a drop-in for the
// standard library's reader that inflates faster; gzip is the collector's
// format, so this is most of the analyzer's unpacking time (DESIGN §5 budgets
// it against `tar -xzf`).
type fastGzip struct{}

func (fastGzip) OpenReader(r io.Reader) (io.ReadCloser, error) { return kgzip.NewReader(r) }

func looksLikeTar(br *bufio.Reader) bool {
	head, _ := br.Peek(br.Size())
	_, err := tar.NewReader(bytes.NewReader(head)).Next()
	return err == nil
}

// readArchive reads one archive input into the bundle.
func (b *Bundle) readArchive(ctx context.Context, in io.Reader) error {
	kind, dec, stream, err := identify(ctx, in)
	if errors.Is(err, errNotArchive) && stream != nil {
		return b.readSingle(ctx, stream)
	}
	if err != nil {
		return err
	}
	if dec != nil {
		rc, err := dec.OpenReader(stream)
		if err != nil {
			return fmt.Errorf("cannot decompress: %w", err)
		}
		defer rc.Close()
		stream = rc
	}
	switch kind {
	case inputTar:
		return b.extractTar(ctx, stream)
	case inputZip:
		if ra, ok := stream.(seekReaderAt); ok && dec == nil {
			return b.extractZip(ctx, ra)
		}
		return b.spoolZip(ctx, stream)
	default: // inputCompressed
		if b.level >= 1 {
			return errNestedTwice
		}
		b.level++
		b.decompressed = true
		inner := &readErrRecorder{r: stream}
		if err := b.readArchive(ctx, inner); err != nil {
			if inner.err != nil && b.entries == 0 {
				return fmt.Errorf("damaged or truncated archive, no entry could be read: %v", inner.err)
			}
			return fmt.Errorf("inside the compressed stream: %w", err)
		}
		return nil
	}
}

var errNestedTwice = errors.New("archive nested two deep: DESIGN §2 opens one level (an archive holding only a bundle archive); re-pack the bundle as one .tar.gz")

// readErrRecorder remembers a decompressor's failure, so that a stream cut
// before its first entry is reported as truncated rather than as "not an
// archive".
type readErrRecorder struct {
	r   io.Reader
	err error
}

func (r *readErrRecorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

type seekReaderAt interface {
	io.Reader
	io.ReaderAt
	io.Seeker
}

func (b *Bundle) extractTar(ctx context.Context, r io.Reader) error {
	var damage error
	tail := &tarTail{r: r}
	r = tail
	err := archives.Tar{}.Extract(ctx, r, func(ctx context.Context, f archives.FileInfo) error {
		hdr, ok := f.Header.(*tar.Header)
		if !ok {
			return fmt.Errorf("unexpected tar header type %T", f.Header)
		}
		file, err := f.Open()
		if err != nil {
			return err
		}
		content := &budgetReader{r: file, used: &b.readBytes, max: b.opts.MaxTotalBytes}
		err = b.addEntry(rawEntry{name: hdr.Name, kind: tarKind(hdr), link: hdr.Linkname,
			size: hdr.Size, content: content})
		if err == nil {
			// A skipped or cut entry is still decompressed to reach the next
			// header: charge it to the total budget, so a bomb stops there.
			_, err = io.Copy(io.Discard, content)
			err = b.afterContent(hdr.Name, err)
		}
		var de *damageError
		if errors.As(err, &de) {
			damage = de.cause
		}
		return err
	})
	if damage != nil {
		err = damage
	}
	if err == nil && b.entries > 0 && !tail.ended() {
		// archive/tar takes a stream cut at a header, or inside the padding
		// after an entry, for a clean end: only the end-of-archive marker
		// (two zero blocks) proves the writer finished.
		err = errors.New("no end-of-archive marker: the tar stream is truncated")
	}
	return b.passEnd(ctx, err)
}

// tarTail remembers the last two 512-byte blocks the tar reader consumed.
type tarTail struct {
	r    io.Reader
	last [1024]byte
	n    int64
}

func (t *tarTail) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		if n >= len(t.last) {
			copy(t.last[:], p[n-len(t.last):n])
		} else {
			copy(t.last[:], t.last[n:])
			copy(t.last[len(t.last)-n:], p[:n])
		}
		t.n += int64(n)
	}
	return n, err
}

// ended reports whether the stream read so far ends with the two zero blocks.
func (t *tarTail) ended() bool {
	if t.n < int64(len(t.last)) {
		return false
	}
	for _, c := range t.last {
		if c != 0 {
			return false
		}
	}
	return true
}

func (b *Bundle) extractZip(ctx context.Context, ra seekReaderAt) error {
	err := archives.Zip{}.Extract(ctx, ra, func(ctx context.Context, f archives.FileInfo) error {
		raw := rawEntry{name: f.NameInArchive, kind: modeKind(f.Mode()), link: f.LinkTarget, size: f.Size()}
		if raw.kind != kindRegular {
			return b.addEntry(raw)
		}
		file, err := f.Open()
		if err != nil {
			// Random access: one bad entry does not hide the others.
			b.entries++
			b.problem(shown(raw.name), "entry %q unreadable: %v", raw.name, err)
			return nil
		}
		defer file.Close()
		raw.content = &budgetReader{r: file, used: &b.readBytes, max: b.opts.MaxTotalBytes}
		err = b.addEntry(raw)
		var de *damageError
		if errors.As(err, &de) {
			return nil // reported by addEntry; the next entry is independent
		}
		return err
	})
	return b.passEnd(ctx, err)
}

// spoolZip copies a zip that arrived as a stream into the private temp area:
// its directory sits at the end, so it cannot be read in a single pass.
func (b *Bundle) spoolZip(ctx context.Context, r io.Reader) error {
	w, name, err := b.createSpill()
	if err != nil {
		return fmt.Errorf("cannot spool the zip archive to the temp area: %w", err)
	}
	n, err := io.Copy(w, io.LimitReader(r, b.opts.MaxTotalBytes+1))
	w.Close()
	defer b.tmp.Remove(name)
	if err != nil {
		return fmt.Errorf("cannot spool the zip archive to the temp area: %w", err)
	}
	if n > b.opts.MaxTotalBytes {
		return fmt.Errorf("zip archive larger than the total size limit of %d bytes: a zip cannot be read from a stream in part", b.opts.MaxTotalBytes)
	}
	f, err := b.tmp.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return b.extractZip(ctx, f)
}

// passEnd turns the end of an archive pass into the bundle's outcome: damage
// after some entries is a Problem and keeps them; damage before the first
// entry, or cancellation, fails Open.
func (b *Bundle) passEnd(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, fs.SkipAll) {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if b.entries == 0 {
		return fmt.Errorf("damaged or truncated archive, no entry could be read: %v", err)
	}
	b.problem("", "%s: archive damaged or truncated after %d entries (%v): the entries read before the damage are kept",
		b.arcLabel, b.entries, err)
	return nil
}
