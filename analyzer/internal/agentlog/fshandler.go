package agentlog

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// FSScan is one cAdvisor fsHandler slow-scan line: the per-container disk
// usage walk took longer than its current threshold
// (google/cadvisor@v0.49.0:container/common/fsHandler.go; DOMAIN §6).
type FSScan struct {
	Line      int
	Time      time.Time // zero when the line carries no usable stamp
	Duration  time.Duration
	Dirs      []string
	Threshold *time.Duration // nil in the v0.25–v0.27 form, which states none
	// Era is the cAdvisor release range whose wording the line has:
	// "v0.25-v0.27" (`du and find …`), "v0.28-v0.32" (`… will not log again
	// …`), "v0.33+" (`fs: disk usage and inodes count …`, since the pure-Go
	// scan of 2019-02-15).
	Era string
}

// The three wordings differ only in their head and tail; %v of a []string
// prints the directories space-separated inside brackets.
var fsScanLine = regexp.MustCompile(`(fs: disk usage and inodes count|du and find) on following dirs took ([^:]+): \[([^\]]*)\](?:; will not log again for this container unless duration exceeds (\S+))?`)

func (p *parser) fsScan(n int, e entry) {
	m := fsScanLine.FindStringSubmatch(e.msg)
	if m == nil {
		p.problem(n, "fsHandler slow-scan line in an unknown form")
		return
	}
	d, err := time.ParseDuration(m[2])
	if err != nil {
		p.problem(n, fmt.Sprintf("fsHandler scan duration %q: %v", m[2], err))
		return
	}
	s := FSScan{Line: n, Time: e.time, Duration: d, Dirs: strings.Fields(m[3]), Era: "v0.25-v0.27"}
	if m[4] != "" {
		t, err := time.ParseDuration(strings.TrimRight(m[4], `".`))
		if err != nil {
			p.problem(n, fmt.Sprintf("fsHandler threshold %q: %v", m[4], err))
		} else {
			s.Threshold = &t
		}
		s.Era = "v0.28-v0.32"
	}
	if strings.HasPrefix(m[1], "fs:") {
		s.Era = "v0.33+"
	}
	p.log.FSScans = append(p.log.FSScans, s)
}
