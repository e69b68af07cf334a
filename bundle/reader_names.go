package bundle

import (
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// cleanName turns an entry name from an archive into a bundle path, or says
// why it is refused. Names are never used on the host file system (spill files
// are numbered), but a bundle path must mean one thing to every reader: no
// "..", nothing absolute, valid UTF-8. Backslashes are kept: systemd escapes
// "-" as `\x2d` in unit and slice names (systemd.unit(5)), and those names
// reach cgroup/ and systemd/ paths verbatim.
func cleanName(raw string) (name, refused string) {
	switch {
	case !utf8.ValidString(raw):
		return "", "name is not valid UTF-8"
	case strings.ContainsRune(raw, 0):
		return "", "name holds a NUL byte"
	case strings.HasPrefix(raw, "/"):
		return "", "absolute name"
	case isDriveLetter(raw):
		return "", "absolute Windows name"
	}
	for _, part := range strings.Split(raw, "/") {
		if part == ".." {
			return "", `name with a ".." component`
		}
	}
	name = path.Clean(raw)
	if name == "." {
		return "", "" // the archive's own root ("./"): nothing to keep
	}
	return name, ""
}

func isDriveLetter(s string) bool {
	return len(s) >= 3 && s[1] == ':' && (s[2] == '\\' || s[2] == '/') &&
		(s[0]|0x20 >= 'a' && s[0]|0x20 <= 'z')
}

// shown returns s for messages and text output: as is when it is printable
// UTF-8, else Go-quoted, so a hostile name cannot carry terminal escapes or
// invalid bytes into a report.
func shown(s string) string {
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return strconv.Quote(s)
		}
	}
	return s
}

// knownTopDirs are the first components of bundle paths (paths.go). A bundle
// made of one of them only (say, a hand-made cgroup/ tree) is not wrapped in a
// top-level directory and must not be stripped.
var knownTopDirs = map[string]bool{
	"node": true, "cgroup": true, "kubelet": true, "kube": true, "cadvisor": true,
	"pprof": true, "systemd": true, "logs": true, "proc": true, "volumes": true,
}

// topDir returns the directory every file and directory entry sits under, as
// `tar -czf x.tgz memsnap-node1/` makes, or "" when there is none.
func (b *Bundle) topDir() string {
	top := ""
	agree := func(first string) bool {
		if top == "" {
			top = first
		}
		return first == top
	}
	for name := range b.files {
		first, _, nested := strings.Cut(name, "/")
		if !nested || !agree(first) {
			return ""
		}
	}
	for name := range b.dirs {
		first, _, _ := strings.Cut(name, "/")
		if !agree(first) {
			return ""
		}
	}
	if knownTopDirs[top] {
		return ""
	}
	return top
}

// stripTopDir removes the common top-level directory, if any.
func (b *Bundle) stripTopDir() {
	top := b.topDir()
	if top == "" {
		return
	}
	files := make(map[string]*entry, len(b.files))
	for name, e := range b.files {
		files[strings.TrimPrefix(name, top+"/")] = e
	}
	b.files = files
	b.dirs = map[string]bool{}
	// Problems name entries as the bundle knows them, after the strip.
	b.mu.Lock()
	problems := make(map[Problem]struct{}, len(b.problems))
	for p := range b.problems {
		p.Path = strings.TrimPrefix(p.Path, top+"/")
		problems[p] = struct{}{}
	}
	b.problems = problems
	b.mu.Unlock()
}
