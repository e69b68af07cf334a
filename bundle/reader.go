package bundle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"
)

// Problem is something the reader refused, cut or found inconsistent. It never
// stops the analysis; the report lists it. Path is the entry concerned (quoted
// when it is not printable UTF-8), or empty for the archive as a whole.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Bundle is one opened bundle: an archive read in one streaming pass, or a
// directory read in place. It implements View. It is safe for concurrent use
// once Open has returned.
type Bundle struct {
	source   string
	label    string // the source as messages name it ("stdin" for "-")
	arcLabel string // the archive being read, for problems about it as a whole
	opts     Options

	files map[string]*entry
	dirs  map[string]bool // directory entries, only for the top-level strip
	names []string        // sorted keys of files, built once loading is done
	level int             // wrappers opened so far (DESIGN §2 allows one)

	decompressed bool // the input was a compressed stream (a single .gz / .zst / .xz file)
	loose        *looseIndex

	manifest      *Manifest
	manifestFiles map[string]int32 // path -> index in manifest.Files

	inputDir *os.Root // directory input
	tmpPath  string   // private temp area, created on first spill
	tmp      *os.Root
	spillSeq int

	// Pass accounting, reset when a nested archive is opened.
	entries   int
	readBytes int64
	memBytes  int64

	mu       sync.Mutex
	problems map[Problem]struct{}
	closed   bool
}

// entry is one stored file. Exactly one of data, spill and dirPath locates
// its content.
type entry struct {
	size    int64
	data    []byte      // kept in memory
	spill   string      // name inside the private temp area
	dirPath string      // path inside the input directory
	dirInfo fs.FileInfo // what the walk saw at dirPath, to detect a swap
	cut     bool        // a limit or damage shortened it: not verifiable
}

// Open reads the bundle at path: an archive file, a directory, or "-" for an
// archive on opts.Stdin (DESIGN §2). It fails only when nothing usable can be
// read; everything else becomes a Problem. Close the Bundle to remove its
// private temp area.
func Open(ctx context.Context, path string, opts Options) (*Bundle, error) {
	b := &Bundle{
		source:   path,
		label:    sourceLabel(path),
		arcLabel: sourceLabel(path),
		opts:     opts.withDefaults(),
		files:    map[string]*entry{},
		dirs:     map[string]bool{},
		problems: map[Problem]struct{}{},
	}
	if err := b.load(ctx, path); err != nil {
		b.Close()
		return nil, fmt.Errorf("%s: %w", b.label, err)
	}
	if err := b.unwrapNested(ctx); err != nil {
		b.Close()
		return nil, fmt.Errorf("%s: %w", b.label, err)
	}
	if len(b.files) == 0 {
		err := b.noFilesError()
		b.Close()
		return nil, fmt.Errorf("%s: %w", b.label, err)
	}
	b.stripTopDir()
	b.names = make([]string, 0, len(b.files))
	for name := range b.files {
		b.names = append(b.names, name)
	}
	sort.Strings(b.names)
	b.loadManifest()
	if b.manifest == nil && !b.hasBundleLayout() {
		b.buildLoose()
		// Loose files never have a manifest: that is no problem to report.
		b.mu.Lock()
		delete(b.problems, Problem{Path: ManifestPath, Message: msgNoManifest})
		b.mu.Unlock()
		if err := b.looseUnusable(); err != nil {
			b.Close()
			return nil, fmt.Errorf("%s: %w", b.label, err)
		}
	}
	return b, nil
}

func sourceLabel(path string) string {
	if path == "-" {
		return "stdin"
	}
	return path
}

func (b *Bundle) load(ctx context.Context, path string) error {
	if path == "-" {
		if b.opts.Stdin == nil {
			return errors.New(`"-" given but no standard input to read`)
		}
		// Hide any Seek method: stdin is often a pipe whose Seek fails, and
		// the format sniffer must then read the stream as a stream.
		return b.readArchive(ctx, struct{ io.Reader }{b.opts.Stdin})
	}
	// The path itself was chosen by the user, so a symlink to it is followed;
	// links inside the bundle never are.
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errors.New("no such file or directory")
		}
		return err
	}
	if info.IsDir() {
		return b.readDir(ctx, path)
	}
	if !info.Mode().IsRegular() {
		return errors.New("not a regular file nor a directory")
	}
	if info.Size() == 0 {
		return errors.New("empty file: not a bundle")
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return b.readArchive(ctx, f)
}

func (b *Bundle) noFilesError() error {
	probs := b.Problems()
	if len(probs) == 0 {
		return errors.New("the archive holds no files")
	}
	return fmt.Errorf("no usable file in the archive (%d problems; first: %s: %s)",
		len(probs), probs[0].Path, probs[0].Message)
}

// Source returns the path given to Open ("-" for standard input).
func (b *Bundle) Source() string { return b.source }

// Manifest returns the parsed manifest, or nil when it is missing or invalid
// (Problems says which).
func (b *Bundle) Manifest() *Manifest { return b.manifest }

// Problems returns everything refused, cut or found inconsistent so far,
// sorted by path then message. Reading files can add sha256 mismatches.
func (b *Bundle) Problems() []Problem {
	b.mu.Lock()
	out := make([]Problem, 0, len(b.problems))
	for p := range b.problems {
		out = append(out, p)
	}
	b.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Message < out[j].Message
	})
	return out
}

func (b *Bundle) problem(path, format string, args ...any) {
	p := Problem{Path: path, Message: fmt.Sprintf(format, args...)}
	b.mu.Lock()
	b.problems[p] = struct{}{}
	b.mu.Unlock()
}

// Open implements View: the stream checks the file's sha256 against the
// manifest when it reaches EOF.
func (b *Bundle) Open(path string) (io.ReadCloser, error) {
	if rc, ok, err := b.openLoose(path); ok {
		return rc, err
	}
	rc, e, err := b.openRaw(path)
	if err != nil {
		return nil, err
	}
	want, ok := b.manifestEntry(path)
	if !ok || want.SHA256 == "" || e.cut {
		return rc, nil
	}
	return newVerifyingReader(b, path, want, rc), nil
}

// Size implements View.
func (b *Bundle) Size(path string) (int64, bool) {
	if n, ok := b.looseSize(path); ok {
		return n, true
	}
	e, ok := b.files[path]
	if !ok {
		return 0, false
	}
	return e.size, true
}

// List implements View.
func (b *Bundle) List(prefix string) []string {
	i := sort.SearchStrings(b.names, prefix)
	var out []string
	for ; i < len(b.names) && strings.HasPrefix(b.names[i], prefix); i++ {
		out = append(out, b.names[i])
	}
	return b.looseList(prefix, out)
}

// Close removes the private temp area. The Bundle must not be used afterwards.
func (b *Bundle) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	var errs []error
	if b.inputDir != nil {
		errs = append(errs, b.inputDir.Close())
	}
	if b.tmp != nil {
		errs = append(errs, b.tmp.Close())
	}
	if b.tmpPath != "" {
		errs = append(errs, os.RemoveAll(b.tmpPath))
	}
	return errors.Join(errs...)
}

var _ View = (*Bundle)(nil)

// sharedPath finds path in the sorted file list and returns the list's copy.
func (b *Bundle) sharedPath(path string) (string, bool) {
	i := sort.SearchStrings(b.names, path)
	if i < len(b.names) && b.names[i] == path {
		return b.names[i], true
	}
	return "", false
}
