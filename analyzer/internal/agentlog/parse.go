// Package agentlog reads the kubelet and cAdvisor log tails in a bundle
// (kubelet/log.txt, cadvisor/log.txt) for the few line kinds memsnap's rules
// use: cAdvisor's slow disk-usage scans, kubelet evictions, OOM reports,
// node-allocatable enforcement and the container manager's node config.
//
// Lines may be plain klog, klog inside a journal/syslog line, a CRI log file
// line from /var/log/pods, or a docker json-file record; messages may be
// printf-style (kubelet ≤ 1.19) or structured (`"msg" key=value`, ≥ 1.20).
package agentlog

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/memsnap/memsnap/analyzer/internal/textline"
)

const (
	// MaxLineBytes skips longer lines with a problem. A container manager
	// config line is a few KB; a megabyte is no log line.
	MaxLineBytes = 1 << 20
	maxProblems  = 100
)

// Options completes what log lines leave out.
type Options struct {
	// Year for stamps without one (klog, journal short format). DESIGN §4:
	// the manifest's created year. 0 leaves such stamps zero unless
	// Reference is set.
	Year int
	// Reference, when set, is the time the log was collected: yearless
	// stamps take its year, or the year before when that would put them
	// more than two days after it (a December line in a January bundle).
	Reference time.Time
}

// Log holds what was found, each kind in line order.
type Log struct {
	FSScans     []FSScan
	Evictions   []Eviction
	OOMs        []OOM
	Allocatable []AllocatableEnforcement
	NodeConfigs []NodeConfig

	Lines int // lines read
	// TimeZoneAssumed is set when a stamp without a zone (klog, journal
	// short format) was read as UTC; the report must say so.
	TimeZoneAssumed bool
}

// Problem is a line that could not be used. Line is 1-based; 0 means the
// whole input.
type Problem struct {
	Line int
	Msg  string
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.Msg
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
}

type parser struct {
	opts     Options
	log      *Log
	problems []Problem
	more     int
	seenOOM  map[string]bool
}

// Parse reads a kubelet or cAdvisor log. It never fails as a whole: lines it
// cannot use become problems and the rest is read.
func Parse(r io.Reader, opts Options) (*Log, []Problem) {
	p := &parser{opts: opts, log: &Log{}, seenOOM: map[string]bool{}}
	lr := textline.New(r, MaxLineBytes)
	for {
		line, tooLong, err := lr.Next()
		if err != nil {
			if err != io.EOF {
				p.problem(lr.Line()+1, fmt.Sprintf("read error, rest of the log lost: %v", err))
			}
			break
		}
		p.log.Lines++
		if tooLong {
			p.problem(lr.Line(), fmt.Sprintf("line longer than %d bytes skipped", MaxLineBytes))
			continue
		}
		p.line(lr.Line(), line)
	}
	if p.more > 0 {
		p.problems = append(p.problems, Problem{Msg: fmt.Sprintf("%d more problems not listed", p.more)})
	}
	return p.log, p.problems
}

func (p *parser) problem(line int, msg string) {
	if len(p.problems) >= maxProblems {
		p.more++
		return
	}
	p.problems = append(p.problems, Problem{Line: line, Msg: msg})
}

// line dispatches on fixed substrings first: most lines of a kubelet log
// are none of these kinds and cost one pass of strings.Contains each.
// Only those lines become strings.
func (p *parser) line(n int, raw []byte) {
	has := func(s string) bool { return bytes.Contains(raw, []byte(s)) }
	switch {
	case has("on following dirs took"):
		p.fsScan(n, p.unwrap(string(raw)))
	case has("viction manager") || has("low on resource") || has("Evicting pod"):
		p.eviction(n, p.unwrap(string(raw)))
	case has("System OOM encountered") || has("OOMKilled"):
		p.oom(n, p.unwrap(string(raw)))
	case has("Node Allocatable"):
		p.allocatable(n, p.unwrap(string(raw)))
	case has("Creating Container Manager object based on Node Config"):
		p.nodeConfig(n, p.unwrap(string(raw)))
	}
}
