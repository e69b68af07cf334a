package cgroup

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
)

// Pasted cgroup files: what a customer copies out of a container or a node
// shell instead of a bundle — `cat memory.stat`, or several files at once
// with `tail -n +1 /sys/fs/cgroup/memory/memory.*`, which prints each file
// after a "==> NAME <==" header and a blank line between files (GNU
// coreutils tail, print_headers / write_header).

// PastedFile is one cgroup file out of a paste.
type PastedFile struct {
	// Dir is the directory the header names ("/sys/fs/cgroup/memory"),
	// "" when the file came without a header or with a bare name.
	Dir  string
	Base string // "memory.stat", "memory.usage_in_bytes", …
	Data []byte
	Line int // 1-based line of the header, or of the first line
}

// maxPastedBytes bounds a paste; a tail -n +1 of every v1 memory file of one
// cgroup is under 16 KiB.
const maxPastedBytes = 8 << 20

var pasteHeader = regexp.MustCompile(`^==> (.+) <==$`)

// SplitPasted splits a paste into its files. Quote markers ("> ") and
// indentation are dropped per line, CR too. A file without a header is
// named by its content: memory.stat (a "key value" list with memory.stat
// keys), memory.events (only memory.events keys); anything else without a
// header is an error naming file and line, as is a paste without any file.
func SplitPasted(r io.Reader, file string) ([]PastedFile, error) {
	sc := bufio.NewScanner(io.LimitReader(r, maxPastedBytes))
	sc.Buffer(make([]byte, 4096), 64<<10)
	var out []PastedFile
	var cur *PastedFile
	var body strings.Builder
	flush := func() error {
		if cur == nil {
			return nil
		}
		cur.Data = []byte(body.String())
		body.Reset()
		if cur.Base == "" {
			cur.Base = pastedKind(string(cur.Data))
			if cur.Base == "" {
				return fmt.Errorf("%s: line %d: cgroup values without a \"==> file <==\" header, and not a memory.stat or memory.events by their keys; paste with tail -n +1 to keep the file names", file, cur.Line)
			}
		}
		out = append(out, *cur)
		cur = nil
		return nil
	}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimRight(unquote(sc.Text()), "\r"))
		if m := pasteHeader.FindStringSubmatch(line); m != nil {
			if err := flush(); err != nil {
				return nil, err
			}
			dir, base := path.Split(m[1])
			cur = &PastedFile{Dir: strings.TrimSuffix(dir, "/"), Base: base, Line: n}
			if cur.Dir == "" && strings.HasPrefix(m[1], "/") {
				cur.Dir = "/"
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "```") || strings.HasPrefix(line, "$ ") || strings.HasPrefix(line, "# ") {
			continue // blank lines between files, fences, a shell prompt
		}
		if strings.HasPrefix(line, "tail: ") {
			continue // "tail: cannot open 'memory.force_empty' …" (write-only files)
		}
		if cur == nil {
			if f := strings.Fields(line); len(f) > 2 {
				continue // prose or a prompt ("[root@node ~]# tail -n +1 …") before the first file
			}
			cur = &PastedFile{Line: n}
		}
		body.WriteString(line)
		body.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no cgroup file in the paste", file)
	}
	return out, nil
}

// unquote drops mail quote markers at the start of a line.
func unquote(s string) string {
	t := strings.TrimLeft(s, " \t")
	for strings.HasPrefix(t, ">") {
		t = strings.TrimLeft(t[1:], " ")
	}
	return t
}

// Keys only memory.stat has (v1 memory.rst §5.2, cgroup-v2.rst memory.stat),
// and the memory.events keys (cgroup-v2.rst).
var (
	pastedStatKeys = map[string]bool{"cache": true, "rss": true, "total_rss": true, "total_cache": true,
		"anon": true, "file": true, "inactive_file": true, "active_file": true, "shmem": true, "mapped_file": true,
		"file_mapped": true, "hierarchical_memory_limit": true}
	pastedEventKeys = map[string]bool{"low": true, "high": true, "max": true, "oom": true, "oom_kill": true, "oom_group_kill": true}
)

// pastedKind names a headerless file by its keys, "" when it cannot.
func pastedKind(data string) string {
	stat, events, lines := 0, 0, 0
	for l := range strings.SplitSeq(data, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		lines++
		if len(f) != 2 {
			return ""
		}
		if pastedStatKeys[f[0]] {
			stat++
		}
		if pastedEventKeys[f[0]] {
			events++
		}
	}
	switch {
	case stat >= 2:
		return "memory.stat"
	case events == lines && lines >= 3:
		return "memory.events"
	}
	return ""
}
