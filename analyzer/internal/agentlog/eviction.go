package agentlog

import (
	"regexp"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// EvictionKind says which step of a kubelet eviction a line records.
type EvictionKind string

const (
	// EvictionReclaim: the eviction manager saw a threshold crossed
	// ("attempting to reclaim", "must evict pod(s) to reclaim").
	EvictionReclaim EvictionKind = "reclaim"
	// EvictionEvicted: pods were evicted ("pod is evicted successfully",
	// "pods evicted, waiting for pod to be cleaned up", "Evicting pod").
	EvictionEvicted EvictionKind = "evicted"
	// EvictionReason: the evicted pod's status message ("The node was low on
	// resource: memory. Threshold quantity: …"), as kubelet logs its event.
	EvictionReason EvictionKind = "reason"
)

// Eviction is one eviction line of the kubelet log
// (kubernetes/kubernetes:pkg/kubelet/eviction/eviction_manager.go, helpers.go;
// DOMAIN §2.4).
type Eviction struct {
	Line int
	Time time.Time
	Kind EvictionKind
	Pod  string   // "namespace/name" when the line names exactly one pod
	Pods []string // every pod the line names, "namespace/name"
	// Resource is the starved resource: "memory", "ephemeral-storage", …
	Resource string
	// Threshold and Available are the quantities as printed ("100Mi",
	// "96128Ki"); the *Bytes fields hold them parsed, nil when absent.
	Threshold, Available           string
	ThresholdBytes, AvailableBytes *int64
	Containers                     []ContainerUsage
	Message                        string // the log message, envelopes removed
}

// ContainerUsage is one "Container X was using 27Gi, request is 24Gi, has
// larger consumption of memory." clause of an eviction message.
type ContainerUsage struct {
	Container, Usage, Request string
	UsageBytes, RequestBytes  *int64
	Resource                  string
}

var (
	reclaimText = regexp.MustCompile(`(?i)eviction manager: (?:attempting to reclaim|must evict pod\(s\) to reclaim)\s*([\w.-]*)`)
	lowOnText   = regexp.MustCompile(`The node was low on resource: ([\w.-]+)\.(?: Threshold quantity: ([^,\s]+), available: (\S+?)\.(?:\s|$|\\|"))?`)
	usageText   = regexp.MustCompile(`Container (\S+) was using (\S+?), request is (\S+?), has larger consumption of ([\w.-]+?)\.`)
	// kubelet ≤ 1.19 printed pods with format.Pod: name_namespace(uid).
	oldPod = regexp.MustCompile(`([a-z0-9][a-z0-9.-]*)_([a-z0-9][a-z0-9-]*)\(([0-9a-f-]{32,36})\)`)
	// Event(v1.ObjectReference{Kind:"Pod", Namespace:"ns", Name:"name", …}) — the
	// event broadcaster's log line before structured logging.
	eventRef = regexp.MustCompile(`ObjectReference\{Kind:"Pod", Namespace:"([^"]*)", Name:"([^"]*)"`)
)

func (p *parser) eviction(n int, e entry) {
	text, kv, _ := structured(e.msg)
	ev := Eviction{Line: n, Time: e.time, Message: text}
	lower := strings.ToLower(text)
	switch {
	case reclaimText.MatchString(text):
		ev.Kind = EvictionReclaim
		ev.Resource = reclaimText.FindStringSubmatch(text)[1]
		if r := kv["resourceName"]; r != "" {
			ev.Resource = r
		}
	case lowOnText.MatchString(e.msg):
		ev.Kind = EvictionReason
		m := lowOnText.FindStringSubmatch(e.msg)
		ev.Resource, ev.Threshold, ev.Available = m[1], m[2], m[3]
		ev.ThresholdBytes, ev.AvailableBytes = quantityBytes(m[2]), quantityBytes(m[3])
		for _, c := range usageText.FindAllStringSubmatch(e.msg, -1) {
			ev.Containers = append(ev.Containers, ContainerUsage{
				Container: c[1], Usage: c[2], Request: c[3], Resource: c[4],
				UsageBytes: quantityBytes(c[2]), RequestBytes: quantityBytes(c[3]),
			})
		}
		if msg, ok := kv["message"]; ok {
			ev.Message = msg
		}
	case strings.Contains(lower, "evicted successfully") || strings.Contains(lower, "evicted, waiting") ||
		strings.Contains(lower, "evicting pod") || strings.Contains(lower, "is evicted"):
		ev.Kind = EvictionEvicted
	default:
		return // ranking, cleanup, thresholds met: context, not events
	}
	ev.Pods = podsOf(e.msg, kv)
	if len(ev.Pods) == 1 {
		ev.Pod = ev.Pods[0]
	}
	p.log.Evictions = append(p.log.Evictions, ev)
}

// podsOf finds the pods a line names: structured pod=/pods=/object= keys
// (klog.KObj prints "namespace/name"), the old name_namespace(uid) form, or
// an event's ObjectReference.
func podsOf(msg string, kv map[string]string) []string {
	if v, ok := kv["pod"]; ok && v != "" {
		return []string{v}
	}
	if v, ok := kv["pods"]; ok {
		var out []string
		for _, f := range strings.FieldsFunc(strings.Trim(v, "[]"), func(r rune) bool { return r == ' ' || r == ',' }) {
			if f = strings.Trim(f, `"`); f != "" {
				out = append(out, f)
			}
		}
		return out
	}
	if v, ok := kv["object"]; ok && (kv["kind"] == "Pod" || kv["kind"] == "") && strings.Contains(v, "/") {
		return []string{v}
	}
	if m := eventRef.FindStringSubmatch(msg); m != nil {
		return []string{m[1] + "/" + m[2]}
	}
	var out []string
	for _, m := range oldPod.FindAllStringSubmatch(msg, -1) {
		out = append(out, m[2]+"/"+m[1])
	}
	return out
}

// quantityBytes parses a Kubernetes quantity ("96128Ki", "1.5Gi", "100M");
// nil for anything else, including percentages.
func quantityBytes(s string) *int64 {
	if s == "" {
		return nil
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return nil
	}
	v := q.Value()
	return &v
}
