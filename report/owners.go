package report

import (
	"slices"
	"sort"

	"github.com/memsnap/memsnap/report/schema"
)

// OwnerKey names a pod's workload as FindingGroup and Owner do: its owner
// from ownerReferences, else the pod itself (kind "Pod").
func OwnerKey(namespace, ownerKind, owner, pod string) (ns, kind, name string) {
	if owner != "" {
		return namespace, ownerKind, owner
	}
	return namespace, "Pod", pod
}

// Owners builds the cluster workloads view from a document's pod rows
// (Workloads with no container), their containers, OOM events and findings:
// one row per workload owner, worst first (severity, then OOM kills, then
// the summed working set), then by namespace, kind and name.
func Owners(doc *schema.Document) []schema.Owner {
	type okey struct{ ns, kind, name string }
	type pkey struct {
		bundle   int
		uid, pod string // uid, else namespace/name
	}
	podKey := func(bundle int, ns, pod, uid string) pkey {
		if uid != "" {
			return pkey{bundle: bundle, uid: uid}
		}
		return pkey{bundle: bundle, pod: ns + "/" + pod}
	}
	idx := map[okey]int{}
	var out []schema.Owner
	podOwner := map[pkey]int{}
	// sums go null as soon as one pod lacks the figure.
	type sums struct{ ws, usage, limit, request bool }
	var broken []sums
	add := func(dst **int64, v *int64, broken *bool) {
		if *broken {
			return
		}
		if v == nil {
			*dst, *broken = nil, true
			return
		}
		n := *v
		if *dst != nil {
			n += **dst
		}
		*dst = &n
	}
	maxOf := func(dst **int64, v *int64) {
		if v != nil && (*dst == nil || *v > **dst) {
			n := *v
			*dst = &n
		}
	}
	for _, w := range doc.Workloads {
		if w.Container != "" {
			continue
		}
		ns, kind, name := OwnerKey(w.Namespace, w.OwnerKind, w.Owner, w.Pod)
		k := okey{ns, kind, name}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, schema.Owner{Namespace: ns, Kind: kind, Name: name, Nodes: []string{}})
			broken = append(broken, sums{})
		}
		pk := podKey(w.Bundle, w.Namespace, w.Pod, w.PodUID)
		if _, dup := podOwner[pk]; dup {
			continue
		}
		podOwner[pk] = i
		o, b := &out[i], &broken[i]
		o.Pods++
		if w.Node != "" && !slices.Contains(o.Nodes, w.Node) {
			o.Nodes = append(o.Nodes, w.Node)
		}
		add(&o.WorkingSetBytes, w.WorkingSetBytes, &b.ws)
		maxOf(&o.WorkingSetMaxBytes, w.WorkingSetBytes)
		add(&o.UsageBytes, w.UsageBytes, &b.usage)
		maxOf(&o.UsageMaxBytes, w.UsageBytes)
		if w.Unlimited {
			o.Unlimited = true
			o.LimitBytes, b.limit = nil, true
		} else {
			add(&o.LimitBytes, w.LimitBytes, &b.limit)
			maxOf(&o.LimitMaxBytes, w.LimitBytes)
		}
		add(&o.RequestBytes, w.RequestBytes, &b.request)
		maxOf(&o.RequestMaxBytes, w.RequestBytes)
	}
	// Kills in the kernel log, per pod; a pod without any counts its
	// containers last terminated as OOMKilled (API-mode bundles have no
	// kernel log, only the kubelet's lastState).
	logKills := map[pkey]int{}
	for _, e := range doc.OOMEvents {
		if e.Pod == "" && e.PodUID == "" {
			continue
		}
		pk := podKey(e.Bundle, e.Namespace, e.Pod, e.PodUID)
		if _, ok := podOwner[pk]; !ok && e.PodUID != "" {
			pk = podKey(e.Bundle, e.Namespace, e.Pod, "")
		}
		if i, ok := podOwner[pk]; ok {
			out[i].OOMKills++
			logKills[pk]++
		}
	}
	for _, w := range doc.Workloads {
		if w.Container == "" {
			continue
		}
		pk := podKey(w.Bundle, w.Namespace, w.Pod, w.PodUID)
		i, ok := podOwner[pk]
		if !ok {
			continue
		}
		if w.RestartCount != nil {
			out[i].Restarts += int(*w.RestartCount)
		}
		if w.LastTermination == "OOMKilled" && logKills[pk] == 0 {
			out[i].OOMKills++
		}
	}
	for _, f := range doc.Findings {
		if f.Suppressed != nil || f.Pod == "" {
			continue
		}
		ns, kind, name := OwnerKey(f.Namespace, f.OwnerKind, f.Owner, f.Pod)
		i, ok := idx[okey{ns, kind, name}]
		if !ok {
			continue
		}
		o := &out[i]
		o.Findings++
		if schema.SeverityRank(f.Severity) > schema.SeverityRank(o.Severity) {
			o.Severity = f.Severity
		}
	}
	for i := range out {
		sort.Strings(out[i].Nodes)
	}
	val := func(p *int64) int64 {
		if p == nil {
			return -1
		}
		return *p
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ra, rb := schema.SeverityRank(a.Severity), schema.SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if a.OOMKills != b.OOMKills {
			return a.OOMKills > b.OOMKills
		}
		if wa, wb := val(a.WorkingSetBytes), val(b.WorkingSetBytes); wa != wb {
			return wa > wb
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	return out
}
