package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/memsnap/memsnap/bundle"
)

// bundleFiles is one sample bundle being built: its files, the sources the
// manifest records and the manifest's node block.
type bundleFiles struct {
	files    map[string][]byte
	captured []string // paths adopted from a real program run, never generated
	sources  []sourceSpec
	node     bundle.NodeInfo
	created  time.Time
	warnings []string
	// buildTarget renders pprof/<target>/target.json from the captured
	// heap profile bytes (sample 004).
	buildTarget func(heap []byte) []byte
}

// sourceSpec is a manifest source; files and bytes are counted from the
// bundle's files under its paths when it is written.
type sourceSpec struct {
	name     string
	paths    []string
	status   string
	err      string
	offset   time.Duration // started = created - collection time + offset
	duration time.Duration
}

func newBundle(created time.Time, node bundle.NodeInfo) *bundleFiles {
	return &bundleFiles{files: map[string][]byte{}, created: created, node: node}
}

func (b *bundleFiles) put(path string, data []byte) {
	if _, dup := b.files[path]; dup {
		panic("gen: duplicate file " + path)
	}
	b.files[path] = data
}

func (b *bundleFiles) putf(path, format string, args ...any) {
	b.put(path, []byte(fmt.Sprintf(format, args...)))
}

// putJSON writes v the way kubelet's go-restful handlers do: indented with
// one space, no trailing newline.
func (b *bundleFiles) putJSON(path string, v any) {
	data, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		panic(fmt.Sprintf("gen: %s: %v", path, err))
	}
	b.put(path, data)
}

func (b *bundleFiles) source(s sourceSpec) { b.sources = append(b.sources, s) }

// putTSV writes DESIGN §2 TSV rows: tab-separated, no header, a field that
// holds a tab, newline, backslash or invalid UTF-8 Go-quoted.
func (b *bundleFiles) putTSV(path string, rows [][]string) {
	var buf bytes.Buffer
	for _, row := range rows {
		for i, f := range row {
			if i > 0 {
				buf.WriteByte('\t')
			}
			if strings.ContainsAny(f, "\t\n\\") || !utf8Valid(f) {
				f = strconv.Quote(f)
			}
			buf.WriteString(f)
		}
		buf.WriteByte('\n')
	}
	b.put(path, buf.Bytes())
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// adoptCaptured reads the files a real program run left in the sample
// directory (see make-sample-004.sh). A missing capture is a warning: the
// rest of the sample is still written and the manifest says what is absent.
func (b *bundleFiles) adoptCaptured(dir string) error {
	var kept []string
	for _, p := range b.captured {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "gen: warning: %s/%s missing: run samples/scripts/make-sample-004.sh\n", dir, p)
			continue
		}
		if err != nil {
			return err
		}
		b.put(p, data)
		kept = append(kept, p)
		if b.buildTarget != nil && strings.HasSuffix(p, "/"+bundle.PprofHeapFile) {
			b.put(strings.TrimSuffix(p, bundle.PprofHeapFile)+bundle.PprofTargetFile, b.buildTarget(data))
		}
	}
	b.captured = kept
	return nil
}

// writeDir replaces the generated files under dir, keeping captured ones.
func (b *bundleFiles) writeDir(dir string) error {
	keep := map[string]bool{}
	for _, p := range b.captured {
		keep[p] = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var stale []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if !d.IsDir() && !keep[filepath.ToSlash(rel)] {
			stale = append(stale, path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range stale {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	removeEmptyDirs(dir)
	for _, p := range sortedKeys(b.files) {
		if keep[p] {
			continue
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, b.files[p], 0o644); err != nil {
			return err
		}
	}
	m, err := json.MarshalIndent(b.manifest(), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, bundle.ManifestPath), append(m, '\n'), 0o644)
}

func removeEmptyDirs(dir string) {
	var dirs []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && path != dir {
			dirs = append(dirs, path)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = os.Remove(dirs[i]) // fails, as wanted, when not empty
	}
}

// manifest builds manifest.json the way memsnap-collect writes it: sources
// in collection order, files sorted, real sha256 of every file.
func (b *bundleFiles) manifest() bundle.Manifest {
	m := bundle.Manifest{
		Format:        bundle.Format,
		FormatVersion: bundle.FormatVersion,
		Collector:     bundle.Collector{Name: "memsnap-collect", Version: "0.1.0", Mode: "binary"},
		Created:       b.created.UTC().Format(time.RFC3339),
		Node:          b.node,
		Sources:       []bundle.Source{},
		Files:         []bundle.FileEntry{},
		Redactions:    []bundle.Redaction{},
		Warnings:      b.warnings,
	}
	start := b.created.Add(-collectionTime)
	for _, s := range b.sources {
		src := bundle.Source{
			Name: s.name, Paths: s.paths, Status: s.status, Error: s.err,
			Started:    start.Add(s.offset).UTC().Format(time.RFC3339Nano),
			DurationMS: s.duration.Milliseconds(),
		}
		for p, data := range b.files {
			for _, prefix := range s.paths {
				if p == prefix || (strings.HasSuffix(prefix, "/") && strings.HasPrefix(p, prefix)) {
					src.Files++
					src.Bytes += int64(len(data))
					break
				}
			}
		}
		m.Sources = append(m.Sources, src)
	}
	for _, p := range sortedKeys(b.files) {
		sum := sha256.Sum256(b.files[p])
		m.Files = append(m.Files, bundle.FileEntry{Path: p, Bytes: int64(len(b.files[p])), SHA256: hex.EncodeToString(sum[:])})
	}
	return m
}

// collectionTime is how long the simulated collector run took.
const collectionTime = 4 * time.Second
