package kube

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/memsnap/memsnap/analyzer/internal/units"
)

// Objects as customers paste them: `kubectl get … -o json|yaml` prints one
// object, a typed list (PodList) or kubectl's own "List" of items, and YAML
// may hold several documents separated by "---". The kubelet's /pods is a
// PodList. DecodeObjects turns any of those into the items of the wanted
// kinds, as JSON.

// maxDocs bounds the YAML documents read from one file.
const maxDocs = 10_000

// DecodeObjects reads a JSON or YAML file (at most MaxJSONBytes) and returns
// every object whose kind is in kinds (list kinds are opened, one level, as
// kubectl nests them). path names the file in errors.
func DecodeObjects(r io.Reader, path string, kinds ...string) ([]json.RawMessage, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxJSONBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", path, err)
	}
	if len(data) > MaxJSONBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes, not parsed", path, MaxJSONBytes)
	}
	if bad, ok := units.HugeExponent(data); ok {
		return nil, fmt.Errorf("%s: holds the number %q, whose exponent would make Kubernetes' quantity parser run without bound; not parsed", path, bad)
	}
	want := map[string]bool{}
	for _, k := range kinds {
		want[k] = true
	}
	var docs [][]byte
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		docs = [][]byte{trimmed}
	} else {
		for i, doc := range splitYAML(data) {
			if i >= maxDocs {
				return nil, fmt.Errorf("%s: more than %d YAML documents", path, maxDocs)
			}
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			// sigs.k8s.io/yaml parses with go.yaml.in/yaml/v2, which
			// refuses excessive aliasing ("billion laughs").
			j, err := yaml.YAMLToJSON(doc)
			if err != nil {
				return nil, fmt.Errorf("%s: invalid YAML: %v", path, err)
			}
			docs = append(docs, j)
		}
	}
	var out []json.RawMessage
	for _, d := range docs {
		if err := collect(d, want, 0, &out); err != nil {
			return nil, jsonError(path, d, err)
		}
	}
	return out, nil
}

type kindItems struct {
	Kind  string            `json:"kind"`
	Items []json.RawMessage `json:"items"`
}

func collect(doc []byte, want map[string]bool, depth int, out *[]json.RawMessage) error {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 || string(doc) == "null" {
		return nil
	}
	if doc[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(doc, &arr); err != nil {
			return err
		}
		for _, a := range arr {
			if depth < 2 {
				if err := collect(a, want, depth+1, out); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var ki kindItems
	if err := json.Unmarshal(doc, &ki); err != nil {
		return err
	}
	switch {
	case want[ki.Kind]:
		*out = append(*out, doc)
	case ki.Items != nil && depth < 2:
		// PodList, NodeList, EventList, List: items may omit their kind.
		base := strings.TrimSuffix(ki.Kind, "List")
		for _, it := range ki.Items {
			var k kindItems
			_ = json.Unmarshal(it, &k)
			if want[k.Kind] || (k.Kind == "" && want[base]) {
				*out = append(*out, it)
			}
		}
	}
	return nil
}

// splitYAML splits a multi-document YAML stream at "---" lines.
func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	start := 0
	for i := 0; i <= len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		line := data[i:]
		next := len(data) + 1
		if end >= 0 {
			line, next = data[i:i+end], i+end+1
		}
		l := bytes.TrimRight(line, "\r \t")
		if bytes.Equal(l, []byte("---")) || bytes.HasPrefix(l, []byte("--- ")) {
			docs = append(docs, data[start:i])
			start = min(next, len(data))
		}
		if end < 0 {
			break
		}
		i = next
	}
	return append(docs, data[start:])
}

// PodsFromObjects builds a PodList from decoded Pod objects; the first copy
// of a pod (by UID, else namespace/name) wins.
func PodsFromObjects(objs []json.RawMessage, path string) (*PodList, error) {
	var items []corev1.Pod
	var firstErr error
	for _, o := range objs {
		var p corev1.Pod
		if err := json.Unmarshal(o, &p); err != nil {
			if firstErr == nil {
				firstErr = jsonError(path, o, err)
			}
			continue
		}
		items = append(items, p)
	}
	return NewPodList(items).from(path), firstErr
}

// from sets the file every pod was read from.
func (l *PodList) from(path string) *PodList {
	for i := range l.Pods {
		l.Pods[i].File = path
	}
	return l
}

// NewPodList is ParsePods over decoded pods.
func NewPodList(items []corev1.Pod) *PodList {
	out := &PodList{byContainerID: map[string]containerRef{}}
	seen := map[string]bool{}
	for i := range items {
		key := string(items[i].UID)
		if key == "" {
			key = items[i].Namespace + "/" + items[i].Name
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out.Pods = append(out.Pods, podView(&items[i]))
	}
	out.index()
	return out
}

func (l *PodList) index() {
	l.byContainerID = map[string]containerRef{}
	for pi := range l.Pods {
		for ci, c := range l.Pods[pi].Containers {
			if _, dup := l.byContainerID[c.ID]; c.ID != "" && !dup {
				l.byContainerID[c.ID] = containerRef{pi, ci}
			}
		}
	}
}

// Merge adds the pods of o not in l (by UID, else namespace/name). A pod
// both hold keeps l's facts and takes from o what l lacks: a pod read from
// `kubectl describe` has no UID unless an event names it, one from `kubectl
// get -o yaml` has it.
func (l *PodList) Merge(o *PodList) {
	if o == nil {
		return
	}
	have := map[string]int{}
	for i, p := range l.Pods {
		if p.UID != "" {
			have[p.UID] = i
		}
		have[p.Namespace+"/"+p.Name] = i
	}
	for _, p := range o.Pods {
		i, ok := have[p.UID]
		if !ok || p.UID == "" {
			i, ok = have[p.Namespace+"/"+p.Name]
		}
		if ok {
			l.Pods[i].fill(&p)
			continue
		}
		l.Pods = append(l.Pods, p)
	}
	l.index()
}

// fill takes from o the facts p lacks; containers are matched by name.
func (p *Pod) fill(o *Pod) {
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&p.UID, o.UID)
	set(&p.NodeName, o.NodeName)
	set(&p.QoS, o.QoS)
	set(&p.Phase, o.Phase)
	set(&p.Reason, o.Reason)
	set(&p.Message, o.Message)
	if p.OwnerKind == "" {
		p.OwnerKind, p.Owner = o.OwnerKind, o.Owner
	}
	if p.Priority == nil {
		p.Priority = o.Priority
	}
	// Both describe one pod: a limit one of them states (a trimmed
	// `get -o yaml` may lack resources) is the pod's.
	if p.MemoryLimit == nil {
		p.MemoryLimit = o.MemoryLimit
	}
	if p.MemoryRequest == nil {
		p.MemoryRequest = o.MemoryRequest
	}
	if len(p.Volumes) == 0 {
		p.Volumes = o.Volumes
	}
	for _, oc := range o.Containers {
		found := false
		for i := range p.Containers {
			c := &p.Containers[i]
			if c.Name != oc.Name || c.Init != oc.Init {
				continue
			}
			found = true
			if c.ID == "" {
				c.ID, c.Runtime = oc.ID, oc.Runtime
			}
			if c.MemoryLimit == nil {
				c.MemoryLimit = oc.MemoryLimit
			}
			if c.MemoryRequest == nil {
				c.MemoryRequest = oc.MemoryRequest
			}
			if c.LastTerminationReason == "" && oc.LastTerminationReason != "" {
				c.LastTerminationReason, c.LastExitCode, c.LastFinishedAt, c.LastContainerID =
					oc.LastTerminationReason, oc.LastExitCode, oc.LastFinishedAt, oc.LastContainerID
			}
			c.RestartCount = max(c.RestartCount, oc.RestartCount)
			if c.State == "" {
				c.State, c.StateReason, c.Ready = oc.State, oc.StateReason, oc.Ready
			}
		}
		if !found {
			p.Containers = append(p.Containers, oc)
		}
	}
}

// NodeFromObjects takes the first Node object.
func NodeFromObjects(objs []json.RawMessage, path string) (*Node, error) {
	if len(objs) == 0 {
		return nil, nil
	}
	return ParseNodeFrom(bytes.NewReader(objs[0]), path)
}

// Event is one Kubernetes event (core/v1 Event, or a row of `kubectl get
// events` / a `describe` Events section). Object is "kind/name".
type Event struct {
	Namespace, Object, Type, Reason, Message, Source string
	Count                                            int32
	Time                                             time.Time
	File                                             string // where it was read
	Line                                             int    // 1-based, for text; 0 for JSON/YAML
}

// EventsFromObjects converts decoded Event objects.
func EventsFromObjects(objs []json.RawMessage, path string) ([]Event, error) {
	var out []Event
	var firstErr error
	for _, o := range objs {
		var e corev1.Event
		if err := json.Unmarshal(o, &e); err != nil {
			if firstErr == nil {
				firstErr = jsonError(path, o, err)
			}
			continue
		}
		ev := Event{Namespace: e.Namespace, Type: e.Type, Reason: e.Reason, Message: e.Message,
			Source: e.Source.Component, Count: e.Count, File: path}
		if e.InvolvedObject.Kind != "" {
			ev.Object = strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name
		}
		if ev.Namespace == "" {
			ev.Namespace = e.InvolvedObject.Namespace
		}
		switch {
		case !e.LastTimestamp.IsZero():
			ev.Time = e.LastTimestamp.Time
		case !e.EventTime.IsZero():
			ev.Time = e.EventTime.Time
		}
		out = append(out, ev)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, firstErr
}
