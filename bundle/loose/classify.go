// Package loose classifies the files a customer sends instead of a bundle —
// a dmesg paste, `kubectl get pod -o yaml`, a kubelet summary fetched through
// the API server, a heap profile, a memory.stat copied from inside a container
// — by their content alone, from a bounded prefix. File names are never
// looked at: tickets rename attachments ("attachment-3.txt", "dmesg.txt"
// holding a pod list).
//
// Kinds is a table: one sniff function per kind, tried in order, so a kind is
// added by adding a row (the Prometheus range-query reader adds one).
package loose

import (
	"bytes"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Kind names what a file was taken as.
type Kind string

const (
	KernelLog       Kind = "kernel-log"       // dmesg, dmesg -T, journalctl -k, kern.log, /dev/kmsg
	KubeletLog      Kind = "kubelet-log"      // klog lines, bare or in the journal
	Pods            Kind = "pods"             // Pod / PodList / List of pods, JSON or YAML; kubelet /pods
	Node            Kind = "node"             // Node / NodeList, JSON or YAML
	Events          Kind = "events"           // Event / EventList, JSON or YAML
	EventsText      Kind = "events-text"      // kubectl get events (table)
	Summary         Kind = "kubelet-summary"  // kubelet /stats/summary
	Configz         Kind = "kubelet-configz"  // kubelet /configz
	KubeletConfig   Kind = "kubelet-config"   // KubeletConfiguration YAML/JSON
	DescribePod     Kind = "describe-pod"     // kubectl describe pod
	DescribeNode    Kind = "describe-node"    // kubectl describe node
	TopPod          Kind = "top-pod"          // kubectl top pod
	TopNode         Kind = "top-node"         // kubectl top node
	CadvisorMetrics Kind = "cadvisor-metrics" // kubelet /metrics/cadvisor, standalone cAdvisor /metrics
	ResourceMetrics Kind = "resource-metrics" // kubelet /metrics/resource
	HeapProfile     Kind = "heap-profile"     // pprof heap, protobuf (gzip or not) or legacy text
	CgroupFiles     Kind = "cgroup-files"     // one cgroup's memory.* files pasted (tail -n +1 headers allowed)
	Meminfo         Kind = "meminfo"          // /proc/meminfo
	SystemdShow     Kind = "systemd-show"     // systemctl show UNIT
	Free            Kind = "free"             // free -b / -k / -m / -h
	PromRange       Kind = "prometheus-range" // a Prometheus query_range answer (curl, promtool query range -o json)
)

// PrefixBytes is how much of a file classification reads.
const PrefixBytes = 64 << 10

// maxLines bounds the lines a sniffer looks at.
const maxLines = 400

// Result says what a file was taken as; Kind is "" when it was ignored and
// Reason then says why.
type Result struct {
	Kind    Kind
	What    string  // for a person: "kernel log (dmesg -T)"
	Wrapper Wrapper // the log envelope the content is in, "" for none
	Reason  string
}

// Sniffer is one row of the kinds table.
type Sniffer struct {
	Kind  Kind
	What  string
	Sniff func(p *Prefix) bool
}

// Prefix is the start of a file, prepared once for every sniffer.
type Prefix struct {
	Raw   []byte
	Text  string   // Raw as text with quote markers and CR dropped per line
	Lines []string // non-empty lines of Text, unquoted and trimmed, at most maxLines
	JSON  bool     // the first non-blank byte opens a JSON object or array
}

// Kinds is tried in order; the first match wins. Order matters where shapes
// overlap: structured formats first, then specific text tables, logs last.
var Kinds = []Sniffer{
	{PromRange, "Prometheus range query (query_range JSON)", func(p *Prefix) bool { return LooksLikeRangeQuery(p.Raw) }},
	{HeapProfile, "heap profile (legacy text)", sniffLegacyHeap},
	{Summary, "kubelet /stats/summary", jsonHas(`"nodeName"`, `"systemContainers"`, `"podRef"`)},
	{Configz, "kubelet /configz", jsonHas(`"kubeletconfig"`)},
	{Pods, "pods (kubectl get pod / kubelet /pods)", kubeKind("Pod", "PodList")},
	{Node, "Node object (kubectl get node)", kubeKind("Node", "NodeList")},
	{Events, "events (kubectl get events)", kubeKind("Event", "EventList")},
	{KubeletConfig, "KubeletConfiguration", kubeKind("KubeletConfiguration")},
	{ResourceMetrics, "kubelet /metrics/resource", sniffResourceMetrics},
	{CadvisorMetrics, "cAdvisor metrics", sniffCadvisorMetrics},
	{DescribeNode, "kubectl describe node", sniffDescribeNode},
	{DescribePod, "kubectl describe pod", sniffDescribePod},
	{TopNode, "kubectl top node", headerLine(`^NAME\s+CPU\(cores\)\s+CPU\s?%\s+MEMORY\(bytes\)\s+MEMORY\s?%`)},
	{TopPod, "kubectl top pod", headerLine(`^(NAMESPACE\s+)?(NAME|POD)\s+(NAME\s+)?CPU\(cores\)\s+MEMORY\(bytes\)`)},
	{EventsText, "kubectl get events (table)", headerLine(`^(NAMESPACE\s+)?LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE`)},
	{EventsText, "kubectl describe … Events section", headerLine(`^Type\s+Reason\s+Age\s+From\s+Message`)},
	{EventsText, "kubectl get events (rows)", sniffEventRows},
	{Free, "free", sniffFree},
	{Meminfo, "/proc/meminfo", sniffMeminfo},
	{SystemdShow, "systemctl show", sniffSystemdShow},
	{CgroupFiles, "cgroup memory files", sniffCgroupFiles},
	{KubeletLog, "kubelet log", sniffKubeletLog},
	{KernelLog, "kernel log", sniffKernelLog},
}

// Classify takes the first PrefixBytes (or fewer) of a file.
func Classify(data []byte) Result {
	if len(data) > PrefixBytes {
		data = data[:PrefixBytes]
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return Result{Reason: "empty"}
	}
	if looksLikePprofProto(data) {
		return Result{Kind: HeapProfile, What: "heap profile (pprof protobuf)"}
	}
	if why := binaryReason(data); why != "" {
		return Result{Reason: why}
	}
	if w := DetectWrapper(data); w != "" {
		res := classifyText(unwrapPrefix(w, data))
		if res.Kind == "" {
			res.Reason = wrapperWhat[w] + " around text that is " + res.Reason
			return res
		}
		res.Wrapper, res.What = w, res.What+" in "+wrapperWhat[w]
		return res
	}
	return classifyText(data)
}

var wrapperWhat = map[Wrapper]string{
	CRI:         "CRI container log lines",
	DockerJSON:  "docker json-file log lines",
	JournalJSON: "journalctl -o json entries",
}

func classifyText(data []byte) Result {
	if len(bytes.TrimSpace(data)) == 0 {
		return Result{Reason: "empty"}
	}
	p := newPrefix(data)
	for _, k := range Kinds {
		if k.Sniff(p) {
			return Result{Kind: k.Kind, What: k.What}
		}
	}
	return Result{Reason: "not a kind of evidence memsnap reads (see docs/inputs.md)"}
}

func newPrefix(data []byte) *Prefix {
	p := &Prefix{Raw: data}
	var b strings.Builder
	n := 0
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		u := strings.TrimSpace(unquote(line))
		b.WriteString(unquote(line))
		b.WriteByte('\n')
		if u != "" && !strings.HasPrefix(u, "```") && n < maxLines {
			p.Lines = append(p.Lines, u)
			n++
		}
	}
	p.Text = b.String()
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	p.JSON = len(t) > 0 && (t[0] == '{' || t[0] == '[')
	return p
}

// unquote drops mail quote markers ("> ", nested) at the start of a line;
// blanks before them go too, the rest of the indentation stays.
func unquote(s string) string {
	t := strings.TrimLeft(s, " \t")
	if !strings.HasPrefix(t, ">") {
		return s
	}
	for strings.HasPrefix(t, ">") {
		t = strings.TrimLeft(t[1:], " ")
	}
	return t
}

// binaryReason says why data is no text file, or "".
func binaryReason(data []byte) string {
	bad := 0
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			if len(data)-i < utf8.UTFMax && len(data) == PrefixBytes {
				i = len(data) // a rune cut by the prefix
				continue
			}
			bad++
		case r == 0:
			return "binary data (NUL bytes), not a text file"
		case r < 0x20 && r != '\n' && r != '\r' && r != '\t' && r != '\f':
			bad++
		}
		i += size
	}
	if bad*100 > len(data) {
		return "binary data (invalid UTF-8 or control bytes), not a text file"
	}
	return ""
}

// looksLikePprofProto recognises an uncompressed pprof Profile message: it
// starts with field 1 (sample_type, a ValueType message) whose own fields 1
// and 2 (type, unit: string-table indices) are varints
// (google/pprof:proto/profile.proto). Go and the C++ profilers write
// sample_type first.
func looksLikePprofProto(b []byte) bool {
	if len(b) < 6 || b[0] != 0x0a || b[1] < 4 || b[1] > 0x7f || b[2] != 0x08 {
		return false
	}
	i := 3
	for i < len(b) && b[i]&0x80 != 0 {
		i++
	}
	i++
	return i < len(b) && b[i] == 0x10
}

func sniffLegacyHeap(p *Prefix) bool {
	return len(p.Lines) > 0 && strings.HasPrefix(p.Lines[0], "heap profile: ")
}

// jsonHas: a JSON document holding every one of the needles.
func jsonHas(needles ...string) func(*Prefix) bool {
	return func(p *Prefix) bool {
		if !p.JSON {
			return false
		}
		for _, n := range needles {
			if !strings.Contains(p.Text, n) {
				return false
			}
		}
		return true
	}
}

var (
	jsonKind = regexp.MustCompile(`"kind"\s*:\s*"([A-Za-z]+)"`)
	yamlKind = regexp.MustCompile(`(?m)^[ \t]*(?:- )?kind:[ \t]*["']?([A-Za-z]+)["']?[ \t]*$`)
)

// kubeKind: a Kubernetes object or list (JSON or YAML, kubectl's "List"
// included) whose first object kind is one of kinds. kubectl prints a List's
// own kind last, after its items, so the first kind met names an item.
func kubeKind(kinds ...string) func(*Prefix) bool {
	return func(p *Prefix) bool {
		re := yamlKind
		if p.JSON {
			re = jsonKind
		} else if !strings.Contains(p.Text, "apiVersion:") && !strings.Contains(p.Text, "kind:") {
			return false
		}
		for _, m := range re.FindAllStringSubmatch(p.Text, 8) {
			k := m[1]
			if k == "List" {
				continue
			}
			for _, want := range kinds {
				if k == want {
					return true
				}
			}
			return false
		}
		return false
	}
}

var promSample = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?\s+[-+0-9.eEInfNa]+(\s+-?\d+)?$`)

// promMetrics returns the metric names of a Prometheus text exposition, or
// nil when most lines are not in that format.
func promMetrics(p *Prefix) map[string]bool {
	names, good, bad := map[string]bool{}, 0, 0
	for _, l := range p.Lines {
		switch {
		case strings.HasPrefix(l, "# HELP ") || strings.HasPrefix(l, "# TYPE "):
			f := strings.Fields(l)
			if len(f) >= 3 {
				names[f[2]] = true
			}
			good++
		case promSample.MatchString(l):
			name := l
			if i := strings.IndexAny(l, "{ "); i > 0 {
				name = l[:i]
			}
			names[name] = true
			good++
		default:
			bad++
		}
	}
	if good < 2 || bad*4 > good {
		return nil
	}
	return names
}

func sniffResourceMetrics(p *Prefix) bool {
	m := promMetrics(p)
	return m != nil && (m["node_memory_working_set_bytes"] || m["pod_memory_working_set_bytes"] || m["scrape_error"] && m["container_memory_working_set_bytes"])
}

func sniffCadvisorMetrics(p *Prefix) bool {
	m := promMetrics(p)
	if m == nil {
		return false
	}
	for name := range m {
		if strings.HasPrefix(name, "container_") || strings.HasPrefix(name, "machine_") || name == "cadvisor_version_info" {
			return true
		}
	}
	return false
}

var describeField = regexp.MustCompile(`^([A-Z][A-Za-z ]+):(\s|$)`)

// describeFields returns the top-level "Field:" names of kubectl describe
// output (they start at column 0).
func describeFields(p *Prefix) map[string]bool {
	out := map[string]bool{}
	for line := range strings.SplitSeq(p.Text, "\n") {
		if m := describeField.FindStringSubmatch(line); m != nil {
			out[m[1]] = true
		}
	}
	return out
}

func sniffDescribePod(p *Prefix) bool {
	f := describeFields(p)
	return f["Name"] && f["Namespace"] && (f["Containers"] || f["Status"] && f["IP"] || f["QoS Class"])
}

func sniffDescribeNode(p *Prefix) bool {
	f := describeFields(p)
	return f["Name"] && (f["Capacity"] || f["Allocatable"]) && (f["Conditions"] || f["System Info"] || f["Roles"])
}

// eventRow is a `kubectl get events [-A]` row: [namespace] last-seen type
// reason object message.
var eventRow = regexp.MustCompile(`^(\S+\s+)?\S+\s+(Normal|Warning)\s+\S+\s+[a-z]+/\S+\s+\S`)

func sniffEventRows(p *Prefix) bool {
	n := 0
	for _, l := range p.Lines {
		if eventRow.MatchString(l) {
			n++
		}
	}
	return n >= 2 && n*10 >= len(p.Lines)*7
}

func headerLine(pattern string) func(*Prefix) bool {
	re := regexp.MustCompile(pattern)
	return func(p *Prefix) bool {
		for i, l := range p.Lines {
			if i > 4 {
				break // the header comes first (after a prompt line or two)
			}
			if re.MatchString(l) {
				return true
			}
		}
		return false
	}
}

var freeHeader = regexp.MustCompile(`^total\s+used\s+free\s+shared\s+buff(/cache|ers)`)

func sniffFree(p *Prefix) bool {
	for i, l := range p.Lines {
		if i > 4 {
			break
		}
		if freeHeader.MatchString(l) && i+1 < len(p.Lines) && strings.HasPrefix(p.Lines[i+1], "Mem:") {
			return true
		}
	}
	return false
}

var meminfoLine = regexp.MustCompile(`^[A-Za-z_()0-9]+:\s+\d+( kB)?$`)

func sniffMeminfo(p *Prefix) bool {
	has, good := false, 0
	for _, l := range p.Lines {
		if strings.HasPrefix(l, "MemTotal:") {
			has = true
		}
		if meminfoLine.MatchString(l) {
			good++
		}
	}
	return has && good*2 > len(p.Lines)
}

var systemdLine = regexp.MustCompile(`^[A-Z][A-Za-z0-9]+=`)

func sniffSystemdShow(p *Prefix) bool {
	good, id := 0, false
	for _, l := range p.Lines {
		if systemdLine.MatchString(l) {
			good++
		}
		if strings.HasPrefix(l, "Id=") || strings.HasPrefix(l, "Names=") || strings.HasPrefix(l, "ControlGroup=") {
			id = true
		}
	}
	return id && good >= 5 && good*10 >= len(p.Lines)*8
}

var (
	tailHeader = regexp.MustCompile(`^==> .*memory\.[a-z_.]+ <==$`)
	statLine   = regexp.MustCompile(`^[a-z_]+ \d+$`)
)

// cgroup memory.stat keys that only memory.stat has (v1 and v2;
// torvalds/linux:Documentation/admin-guide/cgroup-v1/memory.rst §5.2 and
// cgroup-v2.rst memory.stat).
var statKeys = map[string]bool{
	"cache": true, "rss": true, "rss_huge": true, "mapped_file": true, "total_rss": true,
	"hierarchical_memory_limit": true, "anon": true, "file": true, "kernel_stack": true,
	"file_mapped": true, "inactive_file": true, "active_file": true, "shmem": true,
}

func sniffCgroupFiles(p *Prefix) bool {
	stat, keyed, known := 0, 0, 0
	for _, l := range p.Lines {
		if tailHeader.MatchString(l) {
			return true
		}
		if statLine.MatchString(l) {
			keyed++
			if statKeys[strings.Fields(l)[0]] {
				known++
			}
		}
		if strings.HasPrefix(l, "oom_kill ") || strings.HasPrefix(l, "oom_kill_disable ") {
			stat++
		}
	}
	if keyed >= 3 && keyed == len(p.Lines) && onlyEventKeys(p.Lines) {
		return true // memory.events / memory.events.local
	}
	return (known >= 3 || known+stat >= 2) && keyed*10 >= len(p.Lines)*8
}

// memory.events keys (cgroup-v2.rst).
var eventKeys = map[string]bool{"low": true, "high": true, "max": true, "oom": true, "oom_kill": true, "oom_group_kill": true}

func onlyEventKeys(lines []string) bool {
	for _, l := range lines {
		if !eventKeys[strings.Fields(l)[0]] {
			return false
		}
	}
	return true
}

// klog's header (k8s.io/klog/v2 klog.go formatHeader): Lmmdd hh:mm:ss.uuuuuu threadid file:line]
var klog = regexp.MustCompile(`(^|\s)[IWEF]\d{4} \d\d:\d\d:\d\d\.\d{6}\s+\d+ [\w.-]+:\d+\] `)

func sniffKubeletLog(p *Prefix) bool {
	n, kernel := 0, 0
	for _, l := range p.Lines {
		if klog.MatchString(l) {
			n++
		}
		if kernelLine(l) {
			kernel++
		}
	}
	return n >= 2 && n > kernel
}

var (
	printk   = regexp.MustCompile(`^(<\d>)?\[\s*\d+\.\d+\]`)
	dmesgT   = regexp.MustCompile(`^\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\]`)
	syslogK  = regexp.MustCompile(`^([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S*)( \S+)? kernel: `)
	kmsgLine = regexp.MustCompile(`^\d+,\d+,\d+,[-c+][^;]{0,60};`)
)

// kernelLine: a line in one of the kernel log shapes DOMAIN §4.4 lists.
func kernelLine(l string) bool {
	return printk.MatchString(l) || dmesgT.MatchString(l) || syslogK.MatchString(l) || kmsgLine.MatchString(l)
}

// oomPhrases are lines of an OOM report even without any stamp (dmesg -t, a
// report copied out of a console) (torvalds/linux:mm/oom_kill.c).
var oomPhrases = []string{" invoked oom-killer: ", "oom-kill:constraint=", "Memory cgroup out of memory: Kill",
	"Out of memory: Kill", "oom_reaper: reaped process ", "Memory cgroup stats for ", "Task in /"}

func sniffKernelLog(p *Prefix) bool {
	n := 0
	for _, l := range p.Lines {
		if kernelLine(l) {
			n++
			continue
		}
		for _, ph := range oomPhrases {
			if strings.Contains(l, ph) {
				n += 2
				break
			}
		}
	}
	return n >= 2
}

// LooksLikeRangeQuery reports whether prefix (the first bytes of a file)
// is a Prometheus query answer or matrix export, JSON whose first keys or elements are what the API writes.
func LooksLikeRangeQuery(prefix []byte) bool {
	p := bytes.TrimLeft(prefix, " \t\r\n\xef\xbb\xbf")
	if len(p) == 0 {
		return false
	}
	switch p[0] {
	case '{':
		return bytes.Contains(p, []byte(`"resultType"`)) ||
			bytes.Contains(p, []byte(`"status"`)) && bytes.Contains(p, []byte(`"data"`)) && bytes.Contains(p, []byte(`"result"`))
	case '[':
		q := bytes.TrimLeft(p[1:], " \t\r\n")
		if len(q) == 0 {
			return false
		}
		return q[0] == '{' && bytes.Contains(q, []byte(`"metric"`)) && (bytes.Contains(q, []byte(`"values"`)) || bytes.Contains(q, []byte(`"value"`)))
	}
	return false
}
