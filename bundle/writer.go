package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// The collector writes a bundle in one streaming pass with a memory bound
// that does not depend on the node's size (DESIGN §5: peak RSS ≤ 30 MB). A
// tar header needs the entry's size before its content, and most sources do
// not know theirs (procfs and sysfs report 0 or 4096; kubelet answers are
// chunked), so every file is first spooled: up to WriterOptions.MemSpool bytes
// in memory, the rest in an unlinked temporary file. Only then is the entry
// emitted, under a lock, from local data — a source that hangs while being
// read therefore never leaves a half-written entry in the archive.

// DefaultMemSpool is how much of one file is held in memory before spooling
// to disk: all cgroup and procfs files fit; metrics and heap profiles spill.
const DefaultMemSpool = 256 << 10

// WriterOptions configures a Writer.
type WriterOptions struct {
	// MaxBytes bounds the total content bytes of all files (manifest
	// excluded); 0 means no bound. A file that would cross it is cut.
	MaxBytes int64
	// SpoolDir receives temporary spool files ("" = os.TempDir()). It should
	// be on disk: a tmpfs spool is charged to the collector's own memory.
	SpoolDir string
	// MemSpool overrides DefaultMemSpool.
	MemSpool int
	// ModTime stamps every entry (zero = time.Now() when the writer is made).
	ModTime time.Time
	// Level is the gzip level (0 = gzip.DefaultCompression).
	Level int
}

// ErrBudget is returned by Spool when the bundle's byte budget is already spent.
var ErrBudget = errors.New("bundle byte budget (--max-bytes) exhausted")

// Writer streams a gzip-compressed tar bundle. Spool may run concurrently
// from several goroutines; Commit and Close serialise on an internal lock.
type Writer struct {
	opt WriterOptions

	mu      sync.Mutex
	gz      *gzip.Writer
	tw      *tar.Writer
	index   *fileIndex
	used    int64 // content bytes committed or reserved
	failed  error // first output error: the archive is unusable after it
	closed  bool
	bufPool sync.Pool
}

// NewWriter starts a bundle on out. Nothing is written until the first Commit.
func NewWriter(out io.Writer, opt WriterOptions) (*Writer, error) {
	if opt.MemSpool <= 0 {
		opt.MemSpool = DefaultMemSpool
	}
	if opt.ModTime.IsZero() {
		opt.ModTime = time.Now()
	}
	opt.ModTime = opt.ModTime.UTC().Truncate(time.Second)
	level := opt.Level
	if level == 0 {
		level = gzip.DefaultCompression
	}
	// klauspost's gzip writes standard gzip at the same levels as the
	// standard library's, with about half the CPU at level 6 — which is
	// what the collector spends most of its time on besides redaction
	// (docs/performance.md).
	gz, err := gzip.NewWriterLevel(out, level)
	if err != nil {
		return nil, err
	}
	w := &Writer{opt: opt, gz: gz, tw: tar.NewWriter(gz), index: newFileIndex(opt.SpoolDir)}
	w.bufPool.New = func() any { return new(bytes.Buffer) }
	return w, nil
}

// Spooled is one file's content, read and hashed, waiting to be committed.
type Spooled struct {
	w         *Writer
	mem       *bytes.Buffer
	file      *os.File
	size      int64
	sum       [sha256.Size]byte
	Truncated bool // the source had more than the limit allowed
}

// Size is the number of content bytes that Commit will write.
func (s *Spooled) Size() int64 { return s.size }

// Release frees the spool without committing it. Safe to call twice.
func (s *Spooled) Release() {
	if s.mem != nil {
		if s.mem.Cap() <= 4*s.w.opt.MemSpool {
			s.mem.Reset()
			s.w.bufPool.Put(s.mem)
		}
		s.mem = nil
	}
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
}

// Remaining reports the content bytes still allowed (-1 = unbounded).
func (w *Writer) Remaining() int64 {
	if w.opt.MaxBytes <= 0 {
		return -1
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return max(w.opt.MaxBytes-w.used, 0)
}

// Spool reads r to EOF, keeping at most limit bytes (limit < 0 = no limit
// beyond the bundle budget). A read error discards what was read: the
// bundle carries whole files or none. Truncated is set when r had more.
func (w *Writer) Spool(r io.Reader, limit int64) (*Spooled, error) {
	if rem := w.Remaining(); rem >= 0 {
		if rem == 0 {
			return nil, ErrBudget
		}
		if limit < 0 || limit > rem {
			limit = rem
		}
	}
	return w.spool(r, limit)
}

func (w *Writer) spool(r io.Reader, limit int64) (*Spooled, error) {
	s := &Spooled{w: w, mem: w.bufPool.Get().(*bytes.Buffer)}
	h := sha256.New()
	src := r
	if limit >= 0 {
		src = io.LimitReader(r, limit)
	}
	src = io.TeeReader(src, h)
	// Memory first; the disk only for what does not fit.
	n, err := io.Copy(s.mem, io.LimitReader(src, int64(w.opt.MemSpool)))
	if err == nil && n == int64(w.opt.MemSpool) {
		var f *os.File
		f, err = os.CreateTemp(w.opt.SpoolDir, ".memsnap-spool-*")
		if err == nil {
			// Unlinked at once: nothing is left behind even on SIGKILL.
			os.Remove(f.Name())
			s.file = f
			var m int64
			m, err = io.Copy(f, src)
			n += m
		}
	}
	if err != nil {
		s.Release()
		return nil, err
	}
	s.size = n
	if limit >= 0 && n == limit {
		// Probe for one more byte to tell "exactly limit" from "cut".
		var one [1]byte
		if k, _ := io.ReadFull(r, one[:]); k > 0 {
			s.Truncated = true
		}
	}
	copy(s.sum[:], h.Sum(nil))
	return s, nil
}

// Commit writes s as the entry name and releases it. An output error (a
// full disk) is returned and latched: every later call fails with it.
func (w *Writer) Commit(name string, s *Spooled) (FileEntry, error) {
	defer s.Release()
	if err := checkEntryName(name); err != nil {
		return FileEntry{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.failed != nil:
		return FileEntry{}, w.failed
	case w.closed:
		return FileEntry{}, errors.New("bundle writer is closed")
	case w.index.has(name):
		return FileEntry{}, fmt.Errorf("%s: already in the bundle", name)
	}
	if w.opt.MaxBytes > 0 && w.used+s.size > w.opt.MaxBytes {
		return FileEntry{}, fmt.Errorf("%s: %w", name, ErrBudget)
	}
	hdr := &tar.Header{
		Typeflag: tar.TypeReg, Name: name, Size: s.size, Mode: 0o644,
		ModTime: w.opt.ModTime,
	}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return FileEntry{}, w.fail(err)
	}
	if err := w.emit(s); err != nil {
		return FileEntry{}, w.fail(err)
	}
	w.used += s.size
	fe := FileEntry{Path: name, Bytes: s.size, SHA256: hex.EncodeToString(s.sum[:])}
	if err := w.index.add(fe); err != nil {
		return FileEntry{}, w.fail(err)
	}
	return fe, nil
}

// Add spools r (at most limit bytes, see Spool) and commits it as name.
func (w *Writer) Add(name string, r io.Reader, limit int64) (FileEntry, bool, error) {
	s, err := w.Spool(r, limit)
	if err != nil {
		return FileEntry{}, false, err
	}
	truncated := s.Truncated
	fe, err := w.Commit(name, s)
	return fe, truncated, err
}

// AddBytes commits b as name.
func (w *Writer) AddBytes(name string, b []byte) (FileEntry, error) {
	fe, _, err := w.Add(name, bytes.NewReader(b), -1)
	return fe, err
}

// Err reports the latched output error, if any.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

// Files returns the entries committed so far, in commit order, decoded
// from the index (for tests and small bundles: the list is not kept in
// memory).
func (w *Writer) Files() ([]FileEntry, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.index.entries()
}

// FileCount is the number of entries committed so far.
func (w *Writer) FileCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.index.count
}

// Close writes manifest.json last (DESIGN §2) with m's fields and the
// committed entries as its file list (m.Files is ignored and left as it
// is), and finishes the gzip stream. It does not close the output.
func (w *Writer) Close(m *Manifest) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed != nil {
		return w.failed
	}
	if w.closed {
		return errors.New("bundle writer is closed")
	}
	w.closed = true
	defer w.index.close()
	m.Format, m.FormatVersion = Format, FormatVersion
	if m.Sources == nil {
		m.Sources = []Source{}
	}
	if m.Redactions == nil {
		m.Redactions = []Redaction{}
	}
	// A 1,000-pod node lists ~20,000 files: encode the list entry by entry
	// into a spool instead of one multi-megabyte []byte.
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(encodeManifest(pw, m, w.index)) }()
	sp, err := w.spool(pr, -1)
	pr.Close()
	if err != nil {
		return fmt.Errorf("writing %s: %w", ManifestPath, err)
	}
	defer sp.Release()
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: ManifestPath, Size: sp.size, Mode: 0o644, ModTime: w.opt.ModTime}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return w.fail(err)
	}
	if err := w.emit(sp); err != nil {
		return w.fail(err)
	}
	if err := w.tw.Close(); err != nil {
		return w.fail(err)
	}
	if err := w.gz.Close(); err != nil {
		return w.fail(err)
	}
	return nil
}

// emit writes a spool's content to the current tar entry.
func (w *Writer) emit(s *Spooled) error {
	if _, err := w.tw.Write(s.mem.Bytes()); err != nil {
		return err
	}
	if s.file != nil {
		if _, err := s.file.Seek(0, io.SeekStart); err != nil {
			return err
		}
		// Exactly size-minus-memory bytes: the spool file cannot have grown.
		if _, err := io.CopyN(w.tw, s.file, s.size-int64(s.mem.Len())); err != nil {
			return err
		}
	}
	return nil
}

// encodeManifest writes m as indented JSON, its file list one entry at a time.
func encodeManifest(out io.Writer, m *Manifest, index *fileIndex) error {
	mm := *m
	mm.Files = nil
	b, err := json.MarshalIndent(&mm, "", "  ")
	if err != nil {
		return err
	}
	head, tail, ok := bytes.Cut(b, []byte(`"files": null`))
	if !ok {
		return errors.New("manifest: files field not found")
	}
	bw := bufio.NewWriter(out)
	bw.Write(head)
	bw.WriteString(`"files": [`)
	i := 0
	if err := index.each(func(e []byte) error {
		if i > 0 {
			bw.WriteByte(',')
		}
		i++
		bw.WriteString("\n    ")
		_, err := bw.Write(e)
		return err
	}); err != nil {
		return err
	}
	if i > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteByte(']')
	bw.Write(tail)
	bw.WriteByte('\n')
	return bw.Flush()
}

func (w *Writer) fail(err error) error {
	if w.failed == nil {
		w.failed = fmt.Errorf("writing bundle: %w", err)
	}
	return w.failed
}

// checkEntryName refuses names the safe reader would refuse anyway, so the
// collector finds its own bugs instead of a customer's analyzer.
func checkEntryName(name string) error {
	switch {
	case name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/"):
		return fmt.Errorf("bundle entry %q: must be a relative file path", name)
	case path.Clean(name) != name || name == "." || strings.HasPrefix(name, "../"):
		return fmt.Errorf("bundle entry %q: not a clean path", name)
	case name == ManifestPath:
		return fmt.Errorf("bundle entry %q: reserved", name)
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("bundle entry %q: NUL in name", name)
	case len(name) > maxEntryName:
		return fmt.Errorf("bundle entry %.80q…: name longer than %d bytes", name, maxEntryName)
	}
	return nil
}

// maxEntryName is PATH_MAX: no host file the collector can open has a
// longer path, and it keeps one encoded index entry below the index
// reader's buffer (6 bytes per escaped byte, plus the hash).
const maxEntryName = 4096
