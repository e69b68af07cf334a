// Package cgroup loads the memory-controller files of every cgroup in a
// bundle (cgroup/<path>/<file>, DESIGN §2) into one tree and normalises each
// node across cgroup v1 and v2, so rules read "Usage", "WorkingSet" or
// "Shmem" without caring which kernel interface produced them. Every
// normalised number keeps the bundle file (and memory.stat key) it came
// from, for rules to cite as evidence. Facts: DOMAIN.md §1 and §2.1.
package cgroup

import "fmt"

// Problem is one thing Load or a parser could not read. Problems never stop
// the rest of the tree from loading.
type Problem struct {
	File    string // bundle path, e.g. "cgroup/kubepods/memory.stat"
	Line    int    // 1-based; 0 when the problem concerns the whole file
	Message string
}

func (p Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// maxProblemsPerFile keeps a file of pure garbage from turning into a
// million-entry problem list; the rest of the file is still parsed.
const maxProblemsPerFile = 10

// problems collects a file's problems up to maxProblemsPerFile and then notes
// once how many more were dropped.
type problems struct {
	file    string
	list    []Problem
	dropped int
}

func (ps *problems) add(line int, format string, args ...any) {
	if len(ps.list) >= maxProblemsPerFile {
		ps.dropped++
		return
	}
	ps.list = append(ps.list, Problem{File: ps.file, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (ps *problems) done() []Problem {
	if ps.dropped > 0 {
		ps.list = append(ps.list, Problem{File: ps.file, Message: fmt.Sprintf("%d more unreadable lines not listed", ps.dropped)})
	}
	return ps.list
}
