package kube

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/memsnap/memsnap/analyzer/internal/units"
)

// `kubectl describe pod|node` text, as customers paste it into tickets.
//
// kubectl prints it with a PrefixWriter whose levels are two spaces deep
// (kubernetes/kubectl:pkg/describe/describe.go, LEVEL_0 … LEVEL_3) through a
// tabwriter padding columns with at least two spaces: a top-level field is
// "Field:<spaces>value" at column 0, a section's entries ("  main:",
// "  memory:  50Mi") sit two spaces in, and their fields two more. The
// parsers below read that layout back into core/v1 objects, so the pod and
// node views are built by the same code as for `kubectl get -o yaml`.

// maxDescribeLines bounds the lines read from one describe file; a node with
// 110 pods and a long event list is under 400.
const maxDescribeLines = 200_000

// describeLine is one non-blank line: its indentation (after the paste's
// own, see readDescribe) and its text without it.
type describeLine struct {
	indent int
	text   string
	no     int // 1-based line number in the file
}

// readDescribe reads the lines of a describe paste: CR dropped, mail quote
// markers ("> ", nested) dropped, and the indentation of the first "Name:"
// line taken as column 0 (a paste indented as a whole, as tickets quote it).
// Lines before that first "Name:" (a shell prompt) are dropped.
func readDescribe(r io.Reader, path string) ([]describeLine, error) {
	sc := bufio.NewScanner(io.LimitReader(r, MaxJSONBytes))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var out []describeLine
	base := -1
	for n := 1; sc.Scan(); n++ {
		if n > maxDescribeLines {
			return nil, fmt.Errorf("%s: more than %d lines, not a kubectl describe output", path, maxDescribeLines)
		}
		line := strings.TrimRight(unquoteMail(sc.Text()), "\r \t")
		t := strings.TrimLeft(line, " \t")
		if t == "" {
			continue
		}
		indent := len(line) - len(t)
		if base < 0 {
			if !strings.HasPrefix(t, "Name:") {
				continue
			}
			base = indent
		}
		out = append(out, describeLine{indent: max(indent-base, 0), text: t, no: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// unquoteMail drops mail quote markers at the start of a line: each ">"
// with the one space a mail client puts after it, so the indentation that
// carries describe's structure stays.
func unquoteMail(s string) string {
	t := strings.TrimLeft(s, " \t")
	if !strings.HasPrefix(t, ">") {
		return s
	}
	for strings.HasPrefix(t, ">") {
		t = strings.TrimPrefix(t[1:], " ")
	}
	return t
}

// field splits "Key:  value" into key and trimmed value; ok is false for a
// line without a colon. "Container ID:  containerd://…" keeps the value's
// own "://".
func field(t string) (key, value string, ok bool) {
	k, v, ok := strings.Cut(t, ":")
	if !ok || k == "" || strings.ContainsAny(k, "\t") {
		return "", "", false
	}
	return k, strings.TrimSpace(v), true
}

// describeObjects splits the lines into one block per object: kubectl
// describe of several objects prints one after the other, each starting with
// "Name:" at column 0.
func describeObjects(lines []describeLine) [][]describeLine {
	var out [][]describeLine
	for _, l := range lines {
		if l.indent == 0 && strings.HasPrefix(l.text, "Name:") {
			out = append(out, nil)
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], l)
		}
	}
	return out
}

// sections groups an object's lines by top-level field: each column-0 line
// with the indented lines under it.
type section struct {
	key, value string
	line       int
	body       []describeLine
}

func sections(obj []describeLine) []section {
	var out []section
	for _, l := range obj {
		if l.indent == 0 {
			k, v, ok := field(l.text)
			if ok {
				out = append(out, section{key: k, value: v, line: l.no})
				continue
			}
		}
		if len(out) > 0 {
			out[len(out)-1].body = append(out[len(out)-1].body, l)
		}
	}
	return out
}

// entries groups a section body into its level-1 entries ("  main:",
// "  kube-api-access-86pfq:") with the deeper lines under each.
func entries(body []describeLine) []section {
	if len(body) == 0 {
		return nil
	}
	lvl := body[0].indent
	var out []section
	for _, l := range body {
		if l.indent <= lvl {
			k, v, _ := field(l.text)
			out = append(out, section{key: k, value: v, line: l.no})
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].body = append(out[len(out)-1].body, l)
		}
	}
	return out
}

// ParseDescribePods reads `kubectl describe pod` output (one pod or several)
// into pods. Missing fields stay unset (no UID unless an event names it, see
// eventPodUID). A line that is not what kubectl prints there is an error
// naming path and the line; a file without any pod is one too.
func ParseDescribePods(r io.Reader, path string) (*PodList, error) {
	lines, err := readDescribe(r, path)
	if err != nil {
		return nil, err
	}
	var pods []corev1.Pod
	for _, obj := range describeObjects(lines) {
		p, err := describedPod(obj, path)
		if err != nil {
			return nil, err
		}
		pods = append(pods, p)
	}
	if len(pods) == 0 {
		return nil, fmt.Errorf("%s: no \"Name:\" line, not a kubectl describe pod output", path)
	}
	return NewPodList(pods).from(path), nil
}

func describedPod(obj []describeLine, path string) (corev1.Pod, error) {
	var p corev1.Pod
	var eventText []string
	for _, s := range sections(obj) {
		switch s.key {
		case "Name":
			p.Name = s.value
		case "Namespace":
			p.Namespace = s.value
		case "Priority":
			if n, err := strconv.ParseInt(s.value, 10, 32); err == nil {
				p.Spec.Priority = ptr(int32(n))
			}
		case "Node":
			// "name/hostIP", or "<none>" for an unscheduled pod.
			if s.value != "<none>" {
				p.Spec.NodeName, p.Status.HostIP, _ = strings.Cut(s.value, "/")
			}
		case "Labels":
			p.Labels = describeLabels(s)
		case "Status":
			// The phase; "Terminating (lasts 5m)" while the pod is deleted.
			if ph, _, _ := strings.Cut(s.value, " "); ph != "Terminating" {
				p.Status.Phase = corev1.PodPhase(ph)
			}
		case "Reason":
			p.Status.Reason = s.value
		case "Message":
			p.Status.Message = s.value
		case "Controlled By":
			if kind, name, ok := strings.Cut(s.value, "/"); ok {
				p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: name, Controller: ptr(true)}}
			}
		case "QoS Class":
			p.Status.QOSClass = corev1.PodQOSClass(s.value)
		case "Init Containers", "Containers":
			init := s.key == "Init Containers"
			for _, e := range entries(s.body) {
				c, st, err := describedContainer(e, path)
				if err != nil {
					return p, err
				}
				if init {
					p.Spec.InitContainers = append(p.Spec.InitContainers, c)
					p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, st)
				} else {
					p.Spec.Containers = append(p.Spec.Containers, c)
					p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, st)
				}
			}
		case "Volumes":
			for _, e := range entries(s.body) {
				v, err := describedVolume(e, path)
				if err != nil {
					return p, err
				}
				p.Spec.Volumes = append(p.Spec.Volumes, v)
			}
		case "Events":
			for _, l := range s.body {
				eventText = append(eventText, l.text)
			}
		}
	}
	p.UID = types.UID(eventPodUID(eventText, p.Name, p.Namespace))
	return p, nil
}

// describeLabels reads "Labels:  a=b" and the continuation lines under it.
func describeLabels(s section) map[string]string {
	out := map[string]string{}
	add := func(kv string) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	add(s.value)
	for _, l := range s.body {
		add(l.text)
	}
	return out
}

// eventPodUID finds the pod's UID in its events: the kubelet names a pod
// "name_namespace(uid)" in messages such as "Back-off restarting failed
// container main in pod giant-narwhal-…_app-02(8209d63f-…)"
// (kubernetes/kubernetes:pkg/kubelet/util/format/pod.go, format.Pod).
func eventPodUID(lines []string, name, ns string) string {
	if name == "" || ns == "" {
		return ""
	}
	needle := name + "_" + ns + "("
	for _, l := range lines {
		i := strings.Index(l, needle)
		if i < 0 {
			continue
		}
		rest := l[i+len(needle):]
		if j := strings.IndexByte(rest, ')'); j > 0 && podUID.MatchString(rest[:j]) {
			return rest[:j]
		}
	}
	return ""
}

var podUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// describedContainer reads one entry of Containers / Init Containers
// (kubectl describe.go describeContainers: Container ID, Image, State,
// Last State, Ready, Restart Count, Limits, Requests, …).
func describedContainer(e section, path string) (corev1.Container, corev1.ContainerStatus, error) {
	c := corev1.Container{Name: e.key}
	st := corev1.ContainerStatus{Name: e.key}
	for _, f := range entries(e.body) {
		switch f.key {
		case "Container ID":
			st.ContainerID = f.value
		case "Image":
			c.Image, st.Image = f.value, f.value
		case "Image ID":
			st.ImageID = f.value
		case "State":
			s, err := describedState(f, path)
			if err != nil {
				return c, st, err
			}
			st.State = s
		case "Last State":
			s, err := describedState(f, path)
			if err != nil {
				return c, st, err
			}
			st.LastTerminationState = s
		case "Ready":
			st.Ready = f.value == "True"
		case "Restart Count":
			n, err := strconv.ParseInt(f.value, 10, 32)
			if err != nil || n < 0 {
				return c, st, fmt.Errorf("%s: line %d: Restart Count %q is not a count", path, f.line, f.value)
			}
			st.RestartCount = int32(n)
		case "Limits", "Requests":
			rl, err := describedResources(f, path)
			if err != nil {
				return c, st, err
			}
			if f.key == "Limits" {
				c.Resources.Limits = rl
			} else {
				c.Resources.Requests = rl
			}
		}
	}
	return c, st, nil
}

// describedState reads "State:  Running|Waiting|Terminated" with its
// Reason, Exit Code, Started and Finished lines (kubectl describeStatus).
// "Last State:  Terminated" is what an OOMKilled container that restarted
// shows: Reason OOMKilled, Exit Code 137 (128 + SIGKILL).
func describedState(f section, path string) (corev1.ContainerState, error) {
	var s corev1.ContainerState
	fields := map[string]section{}
	for _, g := range entries(f.body) {
		fields[g.key] = g
	}
	at := func(key string) (metav1.Time, error) {
		g, ok := fields[key]
		if !ok || g.value == "" {
			return metav1.Time{}, nil
		}
		t, err := time.Parse(time.RFC1123Z, g.value)
		if err != nil {
			return metav1.Time{}, fmt.Errorf("%s: line %d: %s %q is not a time as kubectl prints it (RFC 1123 with numeric zone)", path, g.line, key, g.value)
		}
		return metav1.NewTime(t), nil
	}
	switch f.value {
	case "Running":
		started, err := at("Started")
		s.Running = &corev1.ContainerStateRunning{StartedAt: started}
		return s, err
	case "Waiting":
		s.Waiting = &corev1.ContainerStateWaiting{Reason: fields["Reason"].value, Message: fields["Message"].value}
	case "Terminated":
		t := &corev1.ContainerStateTerminated{Reason: fields["Reason"].value, Message: fields["Message"].value}
		if g, ok := fields["Exit Code"]; ok {
			n, err := strconv.ParseInt(g.value, 10, 32)
			if err != nil {
				return s, fmt.Errorf("%s: line %d: Exit Code %q is not a number", path, g.line, g.value)
			}
			t.ExitCode = int32(n)
		}
		var err error
		if t.StartedAt, err = at("Started"); err != nil {
			return s, err
		}
		if t.FinishedAt, err = at("Finished"); err != nil {
			return s, err
		}
		s.Terminated = t
	}
	return s, nil
}

// describedResources reads the "      memory:  50Mi" lines under Limits or
// Requests.
func describedResources(f section, path string) (corev1.ResourceList, error) {
	rl := corev1.ResourceList{}
	for _, g := range entries(f.body) {
		q, err := units.ParseK8sQuantity(g.value)
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %s %s: %v", path, g.line, f.key, g.key, err)
		}
		rl[corev1.ResourceName(g.key)] = q
	}
	return rl, nil
}

// describedVolume reads one entry of Volumes. kubectl prints an emptyDir as
// "Type: EmptyDir (…)", "Medium: Memory" (empty for the node's disk) and
// "SizeLimit: <unset>" or the quantity (describe.go
// printEmptyDirVolumeSource).
func describedVolume(e section, path string) (corev1.Volume, error) {
	v := corev1.Volume{Name: e.key}
	fields := map[string]section{}
	for _, g := range entries(e.body) {
		fields[g.key] = g
	}
	if !strings.HasPrefix(fields["Type"].value, "EmptyDir") {
		return v, nil
	}
	ed := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMedium(fields["Medium"].value)}
	if g, ok := fields["SizeLimit"]; ok && g.value != "" && g.value != "<unset>" {
		q, err := units.ParseK8sQuantity(g.value)
		if err != nil {
			return v, fmt.Errorf("%s: line %d: volume %s SizeLimit: %v", path, g.line, e.key, err)
		}
		ed.SizeLimit = &q
	}
	v.EmptyDir = ed
	return v, nil
}

// ParseDescribeNode reads `kubectl describe node` output (the first node of
// it): name, capacity, allocatable, conditions and system info. A file
// without any node is an error naming path.
func ParseDescribeNode(r io.Reader, path string) (*Node, error) {
	lines, err := readDescribe(r, path)
	if err != nil {
		return nil, err
	}
	objs := describeObjects(lines)
	if len(objs) == 0 {
		return nil, fmt.Errorf("%s: no \"Name:\" line, not a kubectl describe node output", path)
	}
	var n corev1.Node
	for _, s := range sections(objs[0]) {
		switch s.key {
		case "Name":
			n.Name = s.value
		case "Capacity", "Allocatable":
			rl, err := describedResources(s, path)
			if err != nil {
				return nil, err
			}
			if s.key == "Capacity" {
				n.Status.Capacity = rl
			} else {
				n.Status.Allocatable = rl
			}
		case "Conditions":
			conds, err := describedConditions(s, path)
			if err != nil {
				return nil, err
			}
			n.Status.Conditions = conds
		case "System Info":
			for _, g := range entries(s.body) {
				switch g.key {
				case "Kernel Version":
					n.Status.NodeInfo.KernelVersion = g.value
				case "OS Image":
					n.Status.NodeInfo.OSImage = g.value
				case "Container Runtime Version":
					n.Status.NodeInfo.ContainerRuntimeVersion = g.value
				case "Kubelet Version":
					n.Status.NodeInfo.KubeletVersion = g.value
				}
			}
		}
	}
	return nodeView(&n), nil
}

// columns splits a tabwriter row at runs of two or more spaces, into at most
// n parts (the last keeps the rest: a condition's message).
var columnGap = regexp.MustCompile(`\s{2,}`)

// describedConditions reads the Conditions table: "Type Status
// LastHeartbeatTime LastTransitionTime Reason Message", a dashes row, then
// one row per condition (describe.go describeNode).
func describedConditions(s section, path string) ([]corev1.NodeCondition, error) {
	var out []corev1.NodeCondition
	for _, l := range s.body {
		cols := columnGap.Split(l.text, 6)
		if cols[0] == "Type" || strings.HasPrefix(cols[0], "----") {
			continue
		}
		if len(cols) < 2 {
			return nil, fmt.Errorf("%s: line %d: condition row %q has no status column", path, l.no, l.text)
		}
		c := corev1.NodeCondition{Type: corev1.NodeConditionType(cols[0]), Status: corev1.ConditionStatus(cols[1])}
		if len(cols) >= 4 {
			if t, err := time.Parse(time.RFC1123Z, cols[3]); err == nil {
				c.LastTransitionTime = metav1.NewTime(t)
			}
		}
		if len(cols) >= 5 {
			c.Reason = cols[4]
		}
		if len(cols) >= 6 {
			c.Message = cols[5]
		}
		out = append(out, c)
	}
	return out, nil
}
