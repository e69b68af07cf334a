package rules

import (
	"fmt"
	"strconv"

	"github.com/memsnap/memsnap/analyzer/internal/listing"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// TmpfsMemory finds memory-backed volumes that hold memory charged to their pod.
var TmpfsMemory = &Rule{
	ID:       "tmpfs-memory",
	Severity: schema.Warning,
	NeedsAny: []snapshot.Data{snapshot.DataTmpfs, snapshot.DataSummary, snapshot.DataPods},
	Doc: `A memory-backed volume holds memory charged to its pod without a bound
What: a memory-medium emptyDir (tmpfs under /var/lib/kubelet/pods/<uid>/volumes/) holding at least
min_bytes (64 MiB) with no sizeLimit, or whose size is above the pod's memory limit.
Why: files in a tmpfs emptyDir are shared memory charged to the container that wrote them and,
after that container restarts, to the pod; they are never reclaimed without swap and count fully
in the working set. Without a sizeLimit the volume may grow to node allocatable (SizeMemoryBackedVolumes)
and the pod is OOM-killed again and again (kubernetes/kubernetes#128339).
Evidence: volumes/tmpfs.tsv (size and used bytes of the mount), kubelet/summary.json volume
usedBytes and capacityBytes, kubelet/pods.json emptyDir.medium and sizeLimit. Without node access
the pod spec (kubectl get pod -o yaml: medium, sizeLimit, the containers' limits) and the summary's
volume usedBytes decide it as well; the summary alone cannot, since it does not say which volume is
memory-backed.
Fix: set emptyDir.sizeLimit below the pod limit, clean the volume on start, or use a disk-backed
emptyDir; count the volume in the pod's memory limit.
References: kubernetes/website:content/en/docs/concepts/storage/volumes.md, kubernetes/kubernetes#128339`,
	Run: runTmpfsMemory,
}

type memVolume struct {
	pod       *snapshot.Pod
	name      string
	used      *int64
	size      *int64
	sizeLimit *int64
	evidence  []schema.Evidence
}

func runTmpfsMemory(p *Pass) {
	s := p.Snap
	vols := map[string]*memVolume{}
	get := func(pod *snapshot.Pod, name string) *memVolume {
		k := pod.UID + "/" + name
		if vols[k] == nil {
			vols[k] = &memVolume{pod: pod, name: name}
		}
		return vols[k]
	}
	for _, t := range s.Tmpfs {
		uid, name, ok := listing.PodUIDFromVolumePath(t.Path)
		pod := s.PodsByUID[uid]
		if !ok || pod == nil {
			continue
		}
		v := get(pod, name)
		used, size := t.UsedBytes, t.SizeBytes
		v.used, v.size = &used, &size
		v.evidence = append(v.evidence, schema.Evidence{File: "volumes/tmpfs.tsv", Key: "line " + strconv.Itoa(t.Line), Value: num(used),
			Text: fmt.Sprintf("tmpfs %s: %s used of %s", t.Path, units.Bytes(used), units.Bytes(size))})
	}
	for _, pod := range s.Pods {
		if pod.Spec != nil {
			for _, sv := range pod.Spec.Volumes {
				if sv.EmptyDir && sv.Medium == "Memory" {
					v := get(pod, sv.Name)
					v.sizeLimit = sv.SizeLimit
					limit := "no sizeLimit"
					if sv.SizeLimit != nil {
						limit = "sizeLimit " + units.Bytes(*sv.SizeLimit)
					}
					v.evidence = append(v.evidence, schema.Evidence{File: fileOr(pod.Spec.File, podListFile(p)), Key: "volumes[" + sv.Name + "].emptyDir",
						Text: "emptyDir medium Memory, " + limit})
				}
			}
		}
		if pod.Stats != nil {
			for _, sv := range pod.Stats.Volumes {
				v := vols[pod.UID+"/"+sv.Name]
				if v == nil || sv.UsedBytes == nil {
					continue
				}
				if v.used == nil {
					u := int64(*sv.UsedBytes)
					v.used = &u
				}
				if v.size == nil && sv.CapacityBytes != nil {
					c := int64(*sv.CapacityBytes)
					v.size = &c
				}
				v.evidence = append(v.evidence, schema.Evidence{File: "kubelet/summary.json", Key: "volume[" + sv.Name + "].usedBytes",
					Value: num(int64(*sv.UsedBytes)), Text: fmt.Sprintf("kubelet: volume %s usedBytes %s", sv.Name, units.Bytes(int64(*sv.UsedBytes)))})
			}
		}
	}
	// Without a mount listing or volume stats, the pod cgroup's shmem is
	// what its tmpfs files are charged as (v1 total_shmem, v2 shmem; tmpfs
	// pages are shmem, torvalds/linux:mm/shmem.c): with one memory-backed
	// volume, it is that volume's, /dev/shm included.
	byPod := map[*snapshot.Pod][]*memVolume{}
	for _, v := range vols {
		byPod[v.pod] = append(byPod[v.pod], v)
	}
	for pod, vs := range byPod {
		if n := pod.Cgroup; len(vs) == 1 && vs[0].used == nil && n != nil && n.Shmem != nil {
			used := n.Shmem.N
			vs[0].used = &used
			vs[0].evidence = append(vs[0].evidence, cite(n.Shmem, "pod shmem, the only memory-backed volume's"))
		}
	}
	for _, k := range sortedKeys(vols) {
		v := vols[k]
		if v.used == nil || *v.used < int64(p.Config.Rules.TmpfsMemory.MinBytes) {
			continue
		}
		var podLimit *int64
		if n := v.pod.Cgroup; n != nil && n.Limit != nil && !n.Unlimited {
			podLimit = &n.Limit.N
			v.evidence = append(v.evidence, cite(n.Limit, "pod limit"))
		} else if n == nil {
			// No pod cgroup in the input: the pod limit the kubelet sets
			// from the spec (Σ container limits when every container has
			// one, kubernetes/kubernetes:pkg/kubelet/cm/helpers_linux.go
			// ResourceConfigForPod), else as the summary implies it.
			if sp := v.pod.Spec; sp != nil && sp.MemoryLimit != nil {
				podLimit = sp.MemoryLimit
				v.evidence = append(v.evidence, schema.Evidence{File: podListFile(p), Key: "spec.containers[*].resources.limits.memory (sum)", Value: num(*sp.MemoryLimit),
					Text: fmt.Sprintf("pod limit = Σ container limits = %d (%s)", *sp.MemoryLimit, units.Bytes(*sp.MemoryLimit))})
			} else if r := v.pod.Reported; r != nil && r.Limit != nil {
				podLimit = &r.Limit.Bytes
				v.evidence = append(v.evidence, citeFigure(r.Limit, "pod limit"))
			}
		}
		unbounded := v.sizeLimit == nil && (v.pod.Spec != nil || v.size == nil || podLimit == nil || *v.size >= *podLimit)
		tooBig := podLimit != nil && v.size != nil && *v.size > *podLimit
		if !unbounded && !tooBig {
			continue
		}
		f := schema.Finding{Severity: schema.Warning}
		v.pod.Fill(&f)
		f.Summary = fmt.Sprintf("Memory-backed volume %q of pod %s holds %s of shared memory charged to the pod", v.name, f.Subject, units.Bytes(*v.used))
		switch {
		case v.sizeLimit == nil:
			f.Summary += " and has no sizeLimit"
		case tooBig:
			f.Summary += fmt.Sprintf(" and may grow to %s, above the pod limit", units.Bytes(*v.size))
		}
		if podLimit != nil {
			f.Summary += fmt.Sprintf(" (pod limit %s, %s of it)", units.Bytes(*podLimit), pct(*v.used, *podLimit))
		}
		f.Summary += "."
		f.Evidence = v.evidence
		f.Remediation = "Set emptyDir.sizeLimit well below the pod's memory limit, delete the files on start, or use a disk-backed emptyDir; tmpfs data survives container restarts and is never reclaimed without swap."
		f.References = []string{"kubernetes/kubernetes#128339", "kubernetes/website:content/en/docs/concepts/storage/volumes.md"}
		p.Report(f)
	}
}
