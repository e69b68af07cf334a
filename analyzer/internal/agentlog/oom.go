package agentlog

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// OOM is an out-of-memory kill as kubelet logs it: its oom watcher's node
// event for a kernel OOM kill outside any container limit, or a container
// whose last state is OOMKilled.
type OOM struct {
	Line int
	Time time.Time
	// Kind is "system" (event SystemOOM, "System OOM encountered, victim
	// process: %s, pid: %d", kubernetes/kubernetes:pkg/kubelet/oom/
	// oom_watcher_linux.go) or "container" (a container status with reason
	// OOMKilled).
	Kind      string
	Process   string // system: the victim's command name, when printed
	PID       *int   // system: the victim's pid, when printed (older kubelets print the bare phrase)
	Pod       string // container: "namespace/name", when the line names it
	Container string // container: best effort, from the status the line carries
	Message   string
}

var (
	systemOOM = regexp.MustCompile(`System OOM encountered(?:, victim process: ([^,"\\]+?)(?:, pid: (\d+))?)?(?:$|[,"\\\s])`)
	// Status patches quote JSON inside a string, so keys arrive as \"name\".
	statusName       = regexp.MustCompile(`\\*"name\\*":\\*"([^"\\]+)`)
	statusFinishedAt = regexp.MustCompile(`\\*"finishedAt\\*":\\*"([^"\\]+)`)
	containerKey     = regexp.MustCompile(`\bcontainerName="([^"]+)"|\bcontainer="([^"]+)"`)
)

func (p *parser) oom(n int, e entry) {
	text, kv, _ := structured(e.msg)
	if m := systemOOM.FindStringSubmatch(e.msg); m != nil {
		o := OOM{Line: n, Time: e.time, Kind: "system", Process: m[1], Message: text}
		if m[2] != "" {
			if pid, err := strconv.Atoi(m[2]); err == nil {
				o.PID = &pid
			}
		}
		if msg, ok := kv["message"]; ok {
			o.Message = msg
		}
		// The event is recorded once per kernel kill but may be logged
		// both by the watcher and the event broadcaster.
		key := "system\x00" + o.Process + "\x00" + m[2] + "\x00" + o.Time.String()
		if !p.seenOOM[key] {
			p.seenOOM[key] = true
			p.log.OOMs = append(p.log.OOMs, o)
		}
		return
	}
	i := strings.Index(e.msg, "OOMKilled")
	if i < 0 {
		return
	}
	o := OOM{Line: n, Time: e.time, Kind: "container", Message: text}
	if pods := podsOf(e.msg, kv); len(pods) == 1 {
		o.Pod = pods[0]
	}
	o.Container = oomContainer(e.msg, i)
	// kubelet repeats a terminated container's lastState in every later
	// status patch; one kill is one event.
	finished := ""
	if all := statusFinishedAt.FindAllStringSubmatch(e.msg[max(0, i-400):i], -1); len(all) > 0 {
		finished = all[len(all)-1][1] // terminated's keys sort before reason
	}
	key := "container\x00" + o.Pod + "\x00" + o.Container + "\x00" + finished
	if finished != "" && p.seenOOM[key] {
		return
	}
	p.seenOOM[key] = true
	p.log.OOMs = append(p.log.OOMs, o)
}

// oomContainer names the container an OOMKilled mention belongs to: a
// structured container key, else the nearest "name" of the JSON container
// status around it (status patches sort keys: lastState precedes name,
// state follows it).
func oomContainer(msg string, at int) string {
	if m := containerKey.FindStringSubmatch(msg); m != nil {
		return m[1] + m[2]
	}
	after := msg[at:min(len(msg), at+600)]
	if m := statusName.FindStringSubmatchIndex(after); m != nil {
		if c := strings.Index(after, "containerID"); c < 0 || c > m[0] {
			return after[m[2]:m[3]]
		}
	}
	before := msg[max(0, at-600):at]
	if all := statusName.FindAllStringSubmatch(before, -1); len(all) > 0 {
		return all[len(all)-1][1]
	}
	return ""
}
