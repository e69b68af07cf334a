package bundle

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/memsnap/memsnap/bundle/loose"
)

// Loose inputs: what a ticket brings instead of a bundle — one plain file,
// text on stdin, a single compressed file, or a directory / archive of files
// with arbitrary names and no manifest. Each file is classified by its content
// (bundle/loose) and the ones that are a bundle file in all but name are
// given that path in a synthetic view, so the analyzer reads them as it reads
// a bundle: the kernel logs become logs/kernel.log (concatenated in name
// order), a kubelet summary kubelet/summary.json, and so on. Kinds with no
// bundle path (describe text, kubectl top, pasted cgroup files, pod lists in
// YAML…) are read by kind through LooseFiles.

// LooseFile is one file of a loose input and what it was taken as.
type LooseFile struct {
	Path        string     `json:"path"`
	Kind        loose.Kind `json:"kind,omitempty"`
	What        string     `json:"taken_as,omitempty"`
	Target      string     `json:"target,omitempty"` // the bundle path it stands for, if any
	Reason      string     `json:"ignored,omitempty"`
	Compression string     `json:"compression,omitempty"` // gzip | zstd | xz, for a compressed file in a directory
	// Wrapper is the log envelope the lines were in (cri, docker-json,
	// journal-json); reading the file removes it.
	Wrapper loose.Wrapper `json:"wrapper,omitempty"`
	Bytes   int64         `json:"bytes"`
}

type looseIndex struct {
	files   []LooseFile
	targets map[string][]int // bundle path → indexes into files
	names   []string         // sorted keys of targets
}

// LooseFiles lists every file of a loose input with what it was taken as,
// sorted by path; nil for a bundle.
func (b *Bundle) LooseFiles() []LooseFile {
	if b.loose == nil {
		return nil
	}
	return b.loose.files
}

// IsLoose reports whether the input was no bundle but loose files.
func (b *Bundle) IsLoose() bool { return b.loose != nil }

// hasBundleLayout: a manifest, or at least one file at a bundle path.
func (b *Bundle) hasBundleLayout() bool {
	for _, n := range b.names {
		if n == ManifestPath {
			return true
		}
		if first, _, ok := strings.Cut(n, "/"); ok && knownTopDirs[first] {
			return true
		}
	}
	return false
}

// readSingle keeps an input that is no archive as one loose file, named after
// the input (without the compression suffix when it was decompressed).
func (b *Bundle) readSingle(ctx context.Context, stream io.Reader) error {
	name := "stdin"
	if b.source != "-" {
		name = filepath.Base(b.source)
	}
	if b.decompressed {
		for _, ext := range []string{".gz", ".zst", ".xz", ".gzip"} {
			name = strings.TrimSuffix(name, ext)
		}
	}
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' {
			return '_'
		}
		return r
	}, name)
	if name == "" || name == "." || name == ".." || name == ManifestPath {
		name = "input"
	}
	content := &budgetReader{r: stream, used: &b.readBytes, max: b.opts.MaxTotalBytes}
	e, err := b.store(name, content, -1)
	if e != nil && e.size > 0 {
		b.entries++
		b.files[name] = e
		if e.cut {
			b.problem(name, "larger than the per-file limit: cut at %d bytes", e.size)
		}
	}
	if err != nil {
		if e == nil || e.size == 0 {
			if e != nil {
				b.release(e)
			}
			return fmt.Errorf("cannot read it: %v", err)
		}
		b.problem(name, "read stopped at %d bytes: %v (the part read is analysed)", e.size, err)
	}
	return ctx.Err()
}

// looseTargets says which bundle path a kind stands for. A kind without one is
// read by kind.
var looseTargets = map[loose.Kind]string{
	loose.KernelLog:       KernelLog,
	loose.KubeletLog:      KubeletLog,
	loose.Summary:         KubeletSummary,
	loose.Configz:         KubeletConfigz,
	loose.KubeletConfig:   KubeletConfigYAML,
	loose.CadvisorMetrics: KubeletMetricsCadvisor,
	loose.ResourceMetrics: KubeletMetricsResource,
	loose.Meminfo:         NodeMeminfo,
}

// concatenated kinds: several files of the kind are read as one.
var concatenated = map[loose.Kind]bool{loose.KernelLog: true, loose.KubeletLog: true}

func (b *Bundle) buildLoose() {
	idx := &looseIndex{targets: map[string][]int{}}
	for _, name := range b.names {
		e := b.files[name]
		lf := LooseFile{Path: name, Bytes: e.size}
		prefix, comp, err := b.loosePrefix(e)
		switch {
		case err != nil:
			lf.Reason = "unreadable: " + err.Error()
		default:
			lf.Compression = comp
			res := loose.Classify(prefix)
			lf.Kind, lf.What, lf.Reason, lf.Wrapper = res.Kind, res.What, res.Reason, res.Wrapper
			if comp != "" && lf.Kind == loose.HeapProfile {
				lf.Compression = "" // pprof reads its own gzip
			}
			if comp != "" && lf.Kind == "" {
				lf.Reason = comp + "-compressed: " + lf.Reason
			}
		}
		if lf.Kind == "" {
			b.problem(shown(name), "ignored: %s", lf.Reason)
		}
		idx.files = append(idx.files, lf)
	}
	// Targets, in name order; a second file for a single-file path is listed
	// and ignored with the reason.
	for i := range idx.files {
		lf := &idx.files[i]
		target := looseTargets[lf.Kind]
		switch lf.Kind {
		case loose.HeapProfile:
			target = PprofDir + safeTarget(lf.Path) + "/" + PprofHeapFile
		case loose.PromRange:
			// series.Load reads every export there; a result without
			// __name__ takes its metric from the file name.
			target = SeriesPrometheusDir + strings.TrimSuffix(safeTarget(lf.Path), ".json") + ".json"
		case loose.SystemdShow:
			target = SystemdDir + safeTarget(b.systemdUnitName(lf)) + ".show"
		}
		if target == "" {
			continue
		}
		if have := idx.targets[target]; len(have) > 0 && !concatenated[lf.Kind] {
			lf.Reason = fmt.Sprintf("a second %s: only %s is read", lf.What, idx.files[have[0]].Path)
			b.problem(shown(lf.Path), "ignored: %s", lf.Reason)
			continue
		}
		lf.Target = target
		idx.targets[target] = append(idx.targets[target], i)
	}
	for t := range idx.targets {
		idx.names = append(idx.names, t)
	}
	sort.Strings(idx.names)
	b.loose = idx
}

// looseUnusable is Open's error when no loose file was taken as anything.
func (b *Bundle) looseUnusable() error {
	if b.loose == nil {
		return nil
	}
	for _, lf := range b.loose.files {
		if lf.Kind != "" {
			return nil
		}
	}
	if len(b.loose.files) == 1 {
		return fmt.Errorf("%w, and its content is no evidence memsnap reads: %s", errNotArchive, b.loose.files[0].Reason)
	}
	return fmt.Errorf("no bundle layout, and none of its %d files is evidence memsnap reads (first: %s: %s)",
		len(b.loose.files), shown(b.loose.files[0].Path), b.loose.files[0].Reason)
}

var unsafeTarget = regexp.MustCompile(`[^A-Za-z0-9._@-]+`)

// safeTarget turns a file name into one path component.
func safeTarget(name string) string {
	s := unsafeTarget.ReplaceAllString(path.Base(name), "_")
	s = strings.Trim(s, ".")
	if s == "" {
		s = "file"
	}
	return s
}

// systemdUnitName takes the unit from the Id= line of systemctl show output.
func (b *Bundle) systemdUnitName(lf *LooseFile) string {
	rc, err := b.openLooseFile(lf)
	if err != nil {
		return lf.Path
	}
	defer rc.Close()
	data, _ := io.ReadAll(io.LimitReader(rc, loose.PrefixBytes))
	for line := range strings.SplitSeq(string(data), "\n") {
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "Id="); ok && id != "" {
			return id
		}
	}
	return lf.Path
}

// loosePrefix reads the start of an entry for classification, decompressed
// when it is a gzip, zstd or xz stream (a dmesg.txt.gz among the attachments).
func (b *Bundle) loosePrefix(e *entry) ([]byte, string, error) {
	rc, err := b.openEntry(e)
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	head, err := io.ReadAll(io.LimitReader(rc, loose.PrefixBytes))
	if err != nil {
		return nil, "", err
	}
	comp := compressionOf(head)
	if comp == "" {
		return head, "", nil
	}
	rc2, err := b.openEntry(e)
	if err != nil {
		return nil, "", err
	}
	defer rc2.Close()
	dr, err := decompress(comp, rc2)
	if err != nil {
		return head, "", nil // not really compressed: classify the bytes
	}
	defer dr.Close()
	out, _ := io.ReadAll(io.LimitReader(dr, loose.PrefixBytes)) // a stream cut early still classifies
	return out, comp, nil
}

func compressionOf(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "gzip"
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "zstd"
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		return "xz"
	}
	return ""
}

func decompress(comp string, r io.Reader) (io.ReadCloser, error) {
	switch comp {
	case "gzip":
		return kgzip.NewReader(r)
	case "zstd":
		d, err := zstd.NewReader(r, zstdOptions...)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	case "xz":
		x, err := xz.NewReader(r)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(x), nil
	}
	return nil, fmt.Errorf("unknown compression %q", comp)
}

// openLooseFile opens one loose file, decompressed, at most MaxFileBytes of it
// (a gzip bomb among the attachments stops there).
func (b *Bundle) openLooseFile(lf *LooseFile) (io.ReadCloser, error) {
	rc, _, err := b.openRaw(lf.Path)
	if err != nil {
		return nil, err
	}
	if lf.Compression == "" && lf.Wrapper == "" {
		return rc, nil
	}
	closers := []io.Closer{rc}
	var r io.Reader = rc
	if lf.Compression != "" {
		dr, err := decompress(lf.Compression, rc)
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("%s: %v", lf.Path, err)
		}
		r = io.LimitReader(dr, b.opts.MaxFileBytes)
		closers = append([]io.Closer{dr}, closers...)
	}
	return &limitedCloser{Reader: loose.Unwrap(lf.Wrapper, r), closers: closers}, nil
}

type limitedCloser struct {
	io.Reader
	closers []io.Closer
}

func (l *limitedCloser) Close() error {
	var first error
	for _, c := range l.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// OpenLoose opens a loose file by its path in the input, decompressed.
func (b *Bundle) OpenLoose(p string) (io.ReadCloser, error) {
	if b.loose != nil {
		for i := range b.loose.files {
			if lf := &b.loose.files[i]; lf.Path == p {
				return b.openLooseFile(lf)
			}
		}
	}
	return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
}

// openLoose resolves a synthetic bundle path; ok is false for any other path.
// Several files for one path are read one after the other, each ending in a
// newline.
func (b *Bundle) openLoose(p string) (io.ReadCloser, bool, error) {
	if b.loose == nil {
		return nil, false, nil
	}
	ids, ok := b.loose.targets[p]
	if !ok {
		return nil, false, nil
	}
	var readers []io.Reader
	var closers []io.Closer
	for _, i := range ids {
		rc, err := b.openLooseFile(&b.loose.files[i])
		if err != nil {
			for _, c := range closers {
				c.Close()
			}
			return nil, true, err
		}
		readers = append(readers, rc)
		closers = append(closers, rc)
		if len(ids) > 1 {
			readers = append(readers, strings.NewReader("\n"))
		}
	}
	return &limitedCloser{Reader: io.MultiReader(readers...), closers: closers}, true, nil
}

func (b *Bundle) looseSize(p string) (int64, bool) {
	if b.loose == nil {
		return 0, false
	}
	ids, ok := b.loose.targets[p]
	if !ok {
		return 0, false
	}
	var n int64
	for _, i := range ids {
		n += b.loose.files[i].Bytes
	}
	return n, true
}

// looseList adds the synthetic paths under prefix to names (sorted).
func (b *Bundle) looseList(prefix string, names []string) []string {
	if b.loose == nil {
		return names
	}
	added := false
	for _, t := range b.loose.names {
		if strings.HasPrefix(t, prefix) {
			names = append(names, t)
			added = true
		}
	}
	if added {
		sort.Strings(names)
	}
	return names
}

// LooseSource names the input file behind a synthetic bundle path, when one
// file stands behind it (evidence then names the file the customer sent).
func (b *Bundle) LooseSource(p string) (string, bool) {
	if b.loose == nil {
		return "", false
	}
	ids := b.loose.targets[p]
	if len(ids) != 1 {
		return "", false
	}
	return b.loose.files[ids[0]].Path, true
}
