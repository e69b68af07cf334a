package kubeletconfig

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/units"

	corev1 "k8s.io/api/core/v1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
)

// flagsConfig turns the kubelet flags that matter for memory into a
// partial KubeletConfiguration (only what the flags set) and a source
// function naming the flag that set each key.
func flagsConfig(fs *Flags) (*kubeletv1beta1.KubeletConfiguration, func(string) string, []error) {
	kc := &kubeletv1beta1.KubeletConfiguration{}
	sources := map[string]string{}
	var errs []error
	note := func(key string, f Flag) { sources[key] = f.Source() }

	if f, ok := fs.Lookup("cgroup-driver"); ok {
		kc.CgroupDriver = f.Value
		note(KeyCgroupDriver, f)
	}
	if f, ok := fs.Lookup("cgroup-root"); ok {
		kc.CgroupRoot = f.Value
		note(KeyCgroupRoot, f)
	}
	if f, ok := fs.Lookup("cgroups-per-qos"); ok {
		b, err := true, error(nil) // a bare boolean flag means true
		if f.HasValue {
			b, err = strconv.ParseBool(f.Value)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a boolean", f.Source(), f.Value))
		} else {
			kc.CgroupsPerQOS = &b
			note(KeyCgroupsPerQOS, f)
		}
	}
	if f, ok := fs.Lookup("enforce-node-allocatable"); ok {
		kc.EnforceNodeAllocatable = []string{} // "--enforce-node-allocatable=" enforces nothing
		for v := range strings.SplitSeq(f.Value, ",") {
			if v = strings.TrimSpace(v); v != "" && v != "none" {
				kc.EnforceNodeAllocatable = append(kc.EnforceNodeAllocatable, v)
			}
		}
		note(KeyEnforceNodeAllocatable, f)
	}
	for _, m := range []struct {
		flag, key string
		sep       string
		dst       *map[string]string
	}{
		{"kube-reserved", KeyKubeReserved, "=", &kc.KubeReserved},
		{"system-reserved", KeySystemReserved, "=", &kc.SystemReserved},
		{"eviction-hard", KeyEvictionHard, "<", &kc.EvictionHard},
		{"eviction-soft", KeyEvictionSoft, "<", &kc.EvictionSoft},
	} {
		all := fs.All(m.flag)
		if len(all) == 0 {
			continue
		}
		*m.dst = map[string]string{}
		for _, f := range all {
			for kv := range strings.SplitSeq(f.Value, ",") {
				if strings.TrimSpace(kv) == "" {
					continue
				}
				k, v, ok := strings.Cut(kv, m.sep)
				if !ok {
					errs = append(errs, fmt.Errorf("%s: %q is not key%svalue", f.Source(), kv, m.sep))
					continue
				}
				(*m.dst)[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
			note(m.key, f)
		}
	}
	if all := fs.All("reserved-memory"); len(all) > 0 {
		kc.ReservedMemory = []kubeletv1beta1.MemoryReservation{}
		for _, f := range all {
			rs, err := parseReservedMemory(f.Value)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", f.Source(), err))
			}
			kc.ReservedMemory = append(kc.ReservedMemory, rs...)
			note(KeyReservedMemory, f)
		}
	}
	return kc, func(key string) string { return sources[key] }, errs
}

// parseReservedMemory reads --reserved-memory:
// "0:memory=1Gi,hugepages-1Gi=2Gi;1:memory=2Gi" (NUMA node, then limits).
func parseReservedMemory(s string) ([]kubeletv1beta1.MemoryReservation, error) {
	var out []kubeletv1beta1.MemoryReservation
	for part := range strings.SplitSeq(s, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		node, limits, ok := strings.Cut(part, ":")
		n, err := strconv.ParseInt(strings.TrimSpace(node), 10, 32)
		if !ok || err != nil {
			return out, fmt.Errorf("%q: want <numa node>:<resource>=<quantity>,...", part)
		}
		mr := kubeletv1beta1.MemoryReservation{NumaNode: int32(n), Limits: corev1.ResourceList{}}
		for kv := range strings.SplitSeq(limits, ",") {
			k, v, ok := strings.Cut(kv, "=")
			q, err := units.ParseK8sQuantity(strings.TrimSpace(v))
			if !ok || err != nil {
				return out, fmt.Errorf("%q: bad resource quantity %q", part, kv)
			}
			mr.Limits[corev1.ResourceName(strings.TrimSpace(k))] = q
		}
		out = append(out, mr)
	}
	return out, nil
}
